#ifndef CLEDGERSHIMS_H
#define CLEDGERSHIMS_H

/// Asks for the cache line at `address` ahead of a read (a hint: it never faults, and the core
/// does not wait for it, so one loop can have many table misses in flight).
static inline void customs_ledger_prefetch(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
