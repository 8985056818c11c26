// The ledger's C helpers are inline functions in include/CLedgerShims.h; SwiftPM builds a C target from at least one source file.
#include "CLedgerShims.h"
