/* app.c - the process-wide context. */
#include "app.h"

struct ent_app app;

db_conn *app_db(void) { return app.db ? db_conn_get(app.db) : NULL; }
