#include "paging/pg.h"
void suite_random(void) { gprintf("pg: done random unimplemented\n"); }
