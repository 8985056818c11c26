#include "CTLSShims.h"
int customs_tls_shims_version(void) { return 1; }
