#include "CShims.h"
int customs_shims_version(void) { return 1; }
