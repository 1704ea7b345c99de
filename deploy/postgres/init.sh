#!/bin/bash
# Run once by the postgres image on an empty data directory: the `ent` and `keycloak` roles and
# databases, with the passwords of the Docker secrets (never in the environment or the image).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v ent_pw="$(cat "$ENT_DB_PASSWORD_FILE")" -v kc_pw="$(cat "$KEYCLOAK_DB_PASSWORD_FILE")" <<'SQL'
CREATE ROLE ent LOGIN PASSWORD :'ent_pw';
CREATE DATABASE ent OWNER ent;
CREATE ROLE keycloak LOGIN PASSWORD :'kc_pw';
CREATE DATABASE keycloak OWNER keycloak;
SQL
