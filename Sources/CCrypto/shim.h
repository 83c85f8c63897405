/* OpenSSL's libcrypto (Debian's libssl-dev), for SHA-256 of forwarding tables. */
#include <openssl/sha.h>
