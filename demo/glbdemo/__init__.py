"""SwiftGLB's local demo cluster: namespaces, a director, backends with glb-redirect and
nginx, a health checker, a traffic generator and the operator's changes."""
