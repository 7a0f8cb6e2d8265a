#define _GNU_SOURCE
#include "cprocess.h"
#include <sys/prctl.h>
#include <unistd.h>
#include <fcntl.h>

int strongroom_set_dumpable(int dumpable) { return prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0); }
int strongroom_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }
int strongroom_syncfs(int fd) { return syncfs(fd); }
int strongroom_start_writeback(int fd) { return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); }
