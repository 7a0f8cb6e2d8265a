#ifndef STRONGROOM_CPROCESS_H
#define STRONGROOM_CPROCESS_H
/* prctl(2) is variadic, which Swift cannot call; these two functions are its only use. */
int strongroom_set_dumpable(int dumpable);
int strongroom_get_dumpable(void);
/* syncfs(2) needs _GNU_SOURCE, which Glibc's Swift module does not define. */
int strongroom_syncfs(int fd);
/* sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE): start writing a file back without waiting. */
int strongroom_start_writeback(int fd);
#endif
