#ifndef CUSTOMS_CSHIMS_H
#define CUSTOMS_CSHIMS_H
// Linux socket facilities Swift's Glibc overlay does not expose. Owned by the Gateway module.
int customs_shims_version(void);
#endif
