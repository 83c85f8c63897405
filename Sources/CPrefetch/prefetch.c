/* CPrefetch is header-only (include/glb_prefetch.h); a C target needs one source file. */
#include "glb_prefetch.h"
