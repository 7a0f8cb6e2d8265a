#ifndef STRONGROOM_CPROCESS_H
#define STRONGROOM_CPROCESS_H
/* prctl(2) is variadic, which Swift cannot call; these two functions are its only use. */
int strongroom_set_dumpable(int dumpable);
int strongroom_get_dumpable(void);
#endif
