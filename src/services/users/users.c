/*
 * users.c - the users service (the seed's user-service): its table for the registry, with the
 * schema, the routes under /api/users and who may call each, the commands and the hooks.
 *
 * Access, route by route (the router enforces the roles; handlers add ownership):
 *   admin only         list, create, read, update, delete any user; password reset; import;
 *                      create, update, delete classes and their members
 *   admin, enseignant  list classes and read a class with its members
 *   every user         their own profile (/me), its display fields, their password, their export
 * A student therefore never reads another user through this service.
 *
 * The schema is written once for SQLite and PostgreSQL (see docs/store.md): TEXT ids and RFC 3339
 * times, INTEGER booleans. Credentials are in their own table so that no query on users can leak
 * a hash. sort_key (ICU's French collation key, hex) and search (folded text) are computed in C
 * (see store.c).
 */
#include "internal.h"

#include "core/service.h"
#include "core/schema.h"

static const char schema_v1[] =
	"CREATE TABLE users ("
	" id TEXT PRIMARY KEY,"
	" iss TEXT,"
	" sub TEXT,"
	" email TEXT UNIQUE,"
	" username TEXT UNIQUE,"
	" given_name TEXT NOT NULL,"
	" family_name TEXT NOT NULL,"
	" display_name TEXT,"
	" locale TEXT,"
	" role TEXT NOT NULL CHECK (role IN ('etudiant', 'enseignant', 'admin')),"
	" external_id TEXT UNIQUE,"
	" disabled INTEGER NOT NULL DEFAULT 0,"
	" sort_key TEXT NOT NULL,"
	" search TEXT NOT NULL,"
	" created_at TEXT NOT NULL,"
	" updated_at TEXT NOT NULL,"
	" deleted_at TEXT,"
	" last_login_at TEXT,"
	" UNIQUE (iss, sub));"
	"CREATE INDEX users_by_sort ON users (sort_key, id);"
	"CREATE INDEX users_by_role ON users (role, sort_key, id);"
	"CREATE TABLE classes ("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" school_year TEXT NOT NULL,"
	" level TEXT,"
	" created_at TEXT NOT NULL,"
	" updated_at TEXT NOT NULL,"
	" UNIQUE (name, school_year));"
	"CREATE INDEX classes_by_year ON classes (school_year, name, id);"
	"CREATE TABLE class_members ("
	" class_id TEXT NOT NULL REFERENCES classes (id),"
	" user_id TEXT NOT NULL REFERENCES users (id),"
	" kind TEXT NOT NULL," /* the member's role: a student is in one class at most */
	" added_at TEXT NOT NULL,"
	" PRIMARY KEY (class_id, user_id));"
	"CREATE UNIQUE INDEX class_members_one_class_per_student ON class_members (user_id) WHERE kind = 'etudiant';"
	"CREATE INDEX class_members_by_user ON class_members (user_id);"
	"CREATE TABLE user_credentials ("
	" user_id TEXT PRIMARY KEY REFERENCES users (id),"
	" password_hash TEXT,"   /* Argon2id, PHC string; NULL until activated */
	" activation_hash TEXT," /* SHA-256 hex of the one-time activation code */
	" activation_expires_at TEXT,"
	" failed_count INTEGER NOT NULL DEFAULT 0,"
	" locked_until TEXT,"
	" updated_at TEXT NOT NULL);"
	"CREATE TABLE login_failures ("
	" ip TEXT PRIMARY KEY,"
	" count INTEGER NOT NULL,"
	" window_start TEXT NOT NULL,"
	" locked_until TEXT);"
	"CREATE TABLE login_unknown ("
	" login_hash TEXT PRIMARY KEY," /* SHA-256 hex of the lower-cased login nobody has */
	" failed_count INTEGER NOT NULL,"
	" locked_until TEXT,"
	" updated_at TEXT NOT NULL);"
	"CREATE TABLE login_events ("
	" id TEXT PRIMARY KEY,"
	" user_id TEXT NOT NULL REFERENCES users (id),"
	" at TEXT NOT NULL,"
	" ip TEXT,"
	" success INTEGER NOT NULL);"
	"CREATE INDEX login_events_by_user ON login_events (user_id, at);"
	"CREATE INDEX login_events_by_at ON login_events (at);";

/*
 * The disabled accounts, in list order: GET /api/users?disabled=true reads them alone instead of
 * every account. Partial, so it costs nothing for the others; building it is its own backfill.
 */
static const char schema_v2[] =
	"CREATE INDEX users_disabled ON users (sort_key, id) WHERE disabled = 1 AND deleted_at IS NULL;";

/*
 * sort_key becomes ICU's French collation key (store.c, users_sort_key): the old folded keys are
 * cleared and users_fill_sort_keys() computes every row's key again, in the same transaction.
 */
static const char schema_v3[] = "UPDATE users SET sort_key = '';";

/* Every change of an input of a cached answer is recorded in the core's change table (core/rcache.h). */
static const char schema_changes[] =
	"CREATE TRIGGER users_changed_u AFTER UPDATE OF given_name, family_name, display_name, role, disabled, deleted_at, email, username, external_id, iss, sub, locale ON users BEGIN INSERT INTO core_changes (scope) VALUES ('u:' || NEW.id); END;"
	"CREATE TRIGGER users_changed_d AFTER DELETE ON users BEGIN INSERT INTO core_changes (scope) VALUES ('u:' || OLD.id); END;"
	"CREATE TRIGGER class_members_changed_i AFTER INSERT ON class_members BEGIN INSERT INTO core_changes (scope) VALUES ('u:' || NEW.user_id); INSERT INTO core_changes (scope) VALUES ('k:' || NEW.class_id); END;"
	"CREATE TRIGGER class_members_changed_u AFTER UPDATE ON class_members BEGIN INSERT INTO core_changes (scope) VALUES ('u:' || NEW.user_id); INSERT INTO core_changes (scope) VALUES ('k:' || NEW.class_id); INSERT INTO core_changes (scope) VALUES ('u:' || OLD.user_id); INSERT INTO core_changes (scope) VALUES ('k:' || OLD.class_id); END;"
	"CREATE TRIGGER class_members_changed_d AFTER DELETE ON class_members BEGIN INSERT INTO core_changes (scope) VALUES ('u:' || OLD.user_id); INSERT INTO core_changes (scope) VALUES ('k:' || OLD.class_id); END;"
	"CREATE TRIGGER classes_changed_u AFTER UPDATE ON classes BEGIN INSERT INTO core_changes (scope) VALUES ('k:' || NEW.id); END;"
	"CREATE TRIGGER classes_changed_d AFTER DELETE ON classes BEGIN INSERT INTO core_changes (scope) VALUES ('k:' || OLD.id); END;";
static const char schema_changes_pg[] =
	"CREATE FUNCTION users_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('u:' || NEW.id); END IF; IF TG_OP = 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('u:' || OLD.id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER users_changed AFTER UPDATE OF given_name, family_name, display_name, role, disabled, deleted_at, email, username, external_id, iss, sub, locale OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION users_changed();"
	"CREATE FUNCTION class_members_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('u:' || NEW.user_id); INSERT INTO core_changes (scope) VALUES ('k:' || NEW.class_id); END IF; IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN INSERT INTO core_changes (scope) VALUES ('u:' || OLD.user_id); INSERT INTO core_changes (scope) VALUES ('k:' || OLD.class_id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER class_members_changed AFTER INSERT OR UPDATE OR DELETE ON class_members FOR EACH ROW EXECUTE FUNCTION class_members_changed();"
	"CREATE FUNCTION classes_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('k:' || NEW.id); END IF; IF TG_OP = 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('k:' || OLD.id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER classes_changed AFTER UPDATE OR DELETE ON classes FOR EACH ROW EXECUTE FUNCTION classes_changed();";

static const struct migration migrations[] = {
	{1, "users, classes, credentials, login throttling and history", schema_v1, NULL},
	{2, "an index of disabled accounts for GET /api/users?disabled=true", schema_v2, NULL},
	{3, "names sorted as a French register: sort_key is ICU's French collation key", schema_v3, NULL},
	{4, "changes of names, roles and class membership recorded for versioned answers", schema_changes,
	 schema_changes_pg},
};

static int migrate_fill(db_conn *c, int version) { return version == 3 ? users_fill_sort_keys(c) : 0; }

/* ---- JSON Schemas for the OpenAPI document ---- */

#define S_ROLE "{\"type\":\"string\",\"enum\":[\"etudiant\",\"enseignant\",\"admin\"]}"
#define S_CLASS_REF                                                                                                    \
	"{\"type\":[\"object\",\"null\"],\"properties\":{\"id\":" S_UUID ",\"name\":" S_STR ",\"school_year\":" S_STR  \
	"}}"
#define S_CLASS_SHORT                                                                                                  \
	"{\"type\":\"object\",\"properties\":{\"id\":" S_UUID ",\"name\":" S_STR ",\"school_year\":" S_STR             \
	",\"level\":" S_NSTR "}}"
#define S_USER_COMMON                                                                                                  \
	"\"id\":" S_UUID ",\"email\":" S_NSTR ",\"username\":" S_NSTR ",\"given_name\":" S_STR                         \
	",\"family_name\":" S_STR ",\"name\":" S_STR ",\"display_name\":" S_NSTR ",\"locale\":" S_NSTR                 \
	",\"role\":" S_ROLE ",\"class\":" S_CLASS_REF ",\"classes\":{\"type\":\"array\",\"items\":" S_CLASS_SHORT      \
	"},\"created_at\":" S_TIME ",\"last_login_at\":" S_NTIME
#define S_USER_ADMIN                                                                                                   \
	"{\"type\":\"object\",\"required\":[\"id\",\"role\",\"disabled\",\"active\"],\"properties\":{" S_USER_COMMON   \
	",\"updated_at\":" S_TIME ",\"external_id\":" S_NSTR ",\"iss\":" S_NSTR ",\"disabled\":" S_BOOL                \
	",\"active\":" S_BOOL ",\"activation_pending\":" S_BOOL ",\"locked_until\":" S_NTIME "}}"
#define S_USER_SELF "{\"type\":\"object\",\"required\":[\"id\",\"role\"],\"properties\":{" S_USER_COMMON "}}"
#define S_PAGE(item)                                                                                                                  \
	"{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":" item \
	"},\"next_cursor\":" S_NSTR "}}"

/* What the field tables (api.c, classes.c) do not say. */
#define S_PASSWORD_MORE "\"minLength\":12,\"maxLength\":128"
#define S_LOCALE_MORE "\"locale\":{\"examples\":[\"fr\",\"fr-FR\"]}"
#define S_YEAR_MORE "{\"school_year\":{\"pattern\":\"^[0-9]{4}-[0-9]{4}$\",\"examples\":[\"2026-2027\"]}}"
static const char user_create_more[] = "{\"properties\":{\"password\":{" S_PASSWORD_MORE
				       ",\"description\":\"optional: without it an activation "
				       "code is generated and returned once\"}}}";
static const char user_create_res[] = "{\"allOf\":[" S_USER_ADMIN
				      ",{\"type\":\"object\",\"properties\":{\"activation_code\":" S_STR
				      ",\"activation_expires_at\":" S_TIME "}}]}";
static const char user_patch_more[] = "{\"properties\":{" S_LOCALE_MORE
				      ",\"class_id\":{\"description\":\"a student's class (replaces the previous "
				      "one); for others a class to attach to; null leaves every class\"}}}";
static const char reset_res[] =
	"{\"type\":\"object\",\"required\":[\"user_id\",\"activation_code\",\"activation_expires_at\"],"
	"\"properties\":{\"user_id\":" S_UUID ",\"activation_code\":" S_STR ",\"activation_expires_at\":" S_TIME "}}";
static const char me_patch_more[] = "{\"properties\":{" S_LOCALE_MORE "}}";
static const char password_more[] = "{\"properties\":{\"new_password\":{" S_PASSWORD_MORE "}}}";
static const char export_res[] =
	"{\"type\":\"object\",\"required\":[\"user_id\",\"exported_at\",\"users\"],\"properties\":{\"user_id\":" S_UUID
	",\"exported_at\":" S_TIME ",\"users\":{\"type\":\"object\",\"properties\":{\"profile\":" S_USER_SELF
	",\"login_history\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"at\":" S_TIME
	",\"ip\":" S_NSTR ",\"success\":" S_BOOL "}}}}}},\"additionalProperties\":{\"type\":\"object\","
	"\"description\":\"each other service's part, under its name\"}}";
static const char import_res[] =
	"{\"type\":\"object\",\"required\":[\"dry_run\",\"created\",\"updated\",\"unchanged\",\"rejected\",\"activation_codes\"],"
	"\"properties\":{\"dry_run\":" S_BOOL ",\"school_year\":" S_STR ",\"encoding\":{\"type\":\"string\",\"enum\":"
	"[\"utf-8\",\"windows-1252\"]},\"separator\":{\"type\":\"string\",\"enum\":[\",\",\";\",\"\\t\"]},\"created\":" S_INT
	",\"updated\":" S_INT ",\"unchanged\":" S_INT ",\"classes_created\":" S_INT
	",\"rejected\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"properties\":{\"line\":" S_INT ",\"column\":" S_NSTR ",\"reason\":" S_STR
	"}}},\"activation_codes\":{\"type\":\"array\",\"items\":{"
	"\"type\":\"object\",\"properties\":{\"line\":" S_INT ",\"email\":" S_STR ",\"name\":" S_STR
	",\"class\":" S_NSTR ",\"code\":" S_STR "}}}}}";

#define S_CLASS_PROPS                                                                                                  \
	"\"id\":" S_UUID ",\"name\":" S_STR ",\"school_year\":" S_STR ",\"level\":" S_NSTR ",\"created_at\":" S_TIME   \
	",\"updated_at\":" S_TIME ",\"student_count\":" S_INT ",\"member_count\":" S_INT
#define S_CLASS                                                                                                        \
	"{\"type\":\"object\",\"required\":[\"id\",\"name\",\"school_year\"],\"properties\":{" S_CLASS_PROPS "}}"
static const char class_list_res[] = S_PAGE(S_CLASS);
static const char class_get_res[] =
	"{\"type\":\"object\",\"required\":[\"id\",\"name\",\"school_year\",\"members\"],\"properties\":{" S_CLASS_PROPS
	",\"members\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"id\":" S_UUID
	",\"given_name\":" S_STR ",\"family_name\":" S_STR ",\"name\":" S_STR ",\"display_name\":" S_NSTR
	",\"role\":" S_ROLE ",\"email\":" S_NSTR ",\"disabled\":" S_BOOL ",\"active\":" S_BOOL "}}}}}";
static const char class_create_more[] = "{\"properties\":" S_YEAR_MORE "}";
static const char class_patch_more[] = "{\"required\":[],\"properties\":" S_YEAR_MORE "}";

#define STAFF (ROLE_ADMIN | ROLE_ENSEIGNANT)

static const struct route routes[] = {
	ROUTE("GET", "/api/users", users_api_list, ROLE_ADMIN,
	      .summary =
		      "List users (admin): ?q= searches names, email and username; ?role=, ?class_id=, ?disabled= filter; "
		      "?limit= and ?cursor= paginate",
	      .response_schema = S_PAGE(S_USER_ADMIN)),
	ROUTE("POST", "/api/users", users_api_create, ROLE_ADMIN, .status = 201,
	      .summary = "Create a user (admin); without a password, a one-time activation code is returned once",
	      BODY(users_create_fields), .request_schema = user_create_more, .response_schema = user_create_res),
	ROUTE("POST", "/api/users/import", users_api_import, ROLE_ADMIN, .flags = ROUTE_RAW_BODY, .max_body = 16u << 20,
	      .summary =
		      "Import users and classes from a text/csv body (admin): header email,given_name,family_name,role,class,"
		      "external_id; separator ',' ';' or tab, UTF-8 (BOM or not) or Windows-1252, as Excel saves it; "
		      "messages in French; ?dry_run=true, ?school_year=",
	      .response_schema = import_res),
	ROUTE("GET", "/api/users/me", users_api_me, ROLE_ANY_USER,
	      .summary = "The caller's own profile, role and class", .response_schema = S_USER_SELF),
	ROUTE("PATCH", "/api/users/me", users_api_me_patch, ROLE_ANY_USER,
	      .summary = "Change the caller's display name or locale (no other field)", BODY(users_me_fields),
	      .request_schema = me_patch_more, .response_schema = S_USER_SELF),
	ROUTE("POST", "/api/users/me/password", users_api_me_password, ROLE_ANY_USER, .status = 204,
	      .summary = "Change the caller's password, given the current one; ends the caller's sessions",
	      BODY(users_password_fields), .request_schema = password_more),
	ROUTE("GET", "/api/users/me/export", users_api_me_export, ROLE_ANY_USER,
	      .summary = "Everything ENT holds about the caller, as JSON (GDPR right of access)",
	      .response_schema = export_res),
	ROUTE("GET", "/api/users/classes", classes_api_list, STAFF,
	      .summary = "List classes with their member counts (admin, enseignant); ?school_year= filters",
	      .response_schema = class_list_res),
	ROUTE("POST", "/api/users/classes", classes_api_create, ROLE_ADMIN, .status = 201,
	      .summary = "Create a class (admin); school_year defaults to the current one", BODY(users_class_fields),
	      .request_schema = class_create_more, .response_schema = S_CLASS),
	ROUTE("GET", "/api/users/classes/{id}", classes_api_get, STAFF,
	      .summary = "A class and its members (admin, enseignant)", .response_schema = class_get_res),
	ROUTE("PATCH", "/api/users/classes/{id}", classes_api_patch, ROLE_ADMIN,
	      .summary = "Rename a class or change its school year or level (admin)", BODY(users_class_fields),
	      .request_schema = class_patch_more, .response_schema = S_CLASS),
	ROUTE("DELETE", "/api/users/classes/{id}", classes_api_delete, ROLE_ADMIN, .status = 204,
	      .summary = "Delete a class and its memberships (admin); the users stay"),
	ROUTE("PUT", "/api/users/classes/{id}/members/{user_id}", classes_api_member_put, ROLE_ADMIN, .status = 204,
	      .flags = ROUTE_NO_BODY,
	      .summary = "Put a user in a class (admin); a student leaves their previous class. No body"),
	ROUTE("DELETE", "/api/users/classes/{id}/members/{user_id}", classes_api_member_delete, ROLE_ADMIN,
	      .status = 204, .summary = "Remove a user from a class (admin)"),
	ROUTE("GET", "/api/users/{id}", users_api_get, ROLE_ADMIN, .summary = "A user (admin)",
	      .response_schema = S_USER_ADMIN),
	ROUTE("PATCH", "/api/users/{id}", users_api_patch, ROLE_ADMIN,
	      .summary =
		      "Update a user (admin): names, email, role, class, disabled; disabling or a new role ends their sessions",
	      BODY(users_patch_fields), .request_schema = user_patch_more, .response_schema = S_USER_ADMIN),
	ROUTE("DELETE", "/api/users/{id}", users_api_delete, ROLE_ADMIN, .status = 204,
	      .summary = "Erase a user (admin, GDPR): personal data removed, the id kept so references stay valid"),
	ROUTE("POST", "/api/users/{id}/password-reset", users_api_reset, ROLE_ADMIN,
	      .summary =
		      "Reset a user's password (admin): the password is cleared, sessions end, a one-time activation code "
		      "is returned once",
	      .response_schema = reset_res),
};

static const struct command commands[] = {
	{"user", "create an account: ent user add --email E --name \"Given Family\" --role R", users_cmd_user},
	{"import", "import users and classes from CSV: ent import users FILE.csv [--dry-run]", users_cmd_import},
};

static const char *const owned_tables[] = {"users",        "user_credentials", "classes",       "class_members",
					   "login_events", "login_failures",   "login_unknown", NULL};

const struct service svc_users = {
	.name = "users",
	.title = "Users, roles and classes (the seed's user-service)",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.migrations = migrations,
	.nmigrations = sizeof(migrations) / sizeof(migrations[0]),
	.tables = owned_tables,
	.migrate_fill = migrate_fill,
	.demo = users_demo,
	.generate = users_generate,
	.export_user = users_export,
	.commands = commands,
	.ncommands = sizeof(commands) / sizeof(commands[0]),
};
