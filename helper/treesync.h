/* treesync.c: --tree-sync SRC DST --since SECONDS.NNNNNNNNN, the catch-up pass of a copy */
#ifndef BERTH_TREESYNC_H
#define BERTH_TREESYNC_H

int do_tree_sync(const char *src, const char *dst, const char *since);

#endif
