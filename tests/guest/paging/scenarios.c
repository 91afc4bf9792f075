#include "paging/pg.h"
void suite_scenarios(void) { gprintf("pg: done scenarios unimplemented\n"); }
