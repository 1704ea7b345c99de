#!/usr/bin/env bash
# Writes the Docker secrets docker-compose.yml reads, once: random passwords, and the URLs that
# carry them (ENT_DB_FILE, ENT_BUS_FILE). Existing files are kept, so running it again is safe.
set -euo pipefail
cd "$(dirname "$0")"
umask 077
pw() { od -An -N18 -tx1 /dev/urandom | tr -d ' \n'; }
put() { [ -s "$1" ] || printf '%s' "$2" >"$1"; }
put postgres_password.txt "$(pw)"
put ent_db_password.txt "$(pw)"
put ent_db_url.txt "postgresql://ent:$(cat ent_db_password.txt)@postgres:5432/ent"
put keycloak_db_password.txt "$(pw)"
put keycloak_admin_password.txt "$(pw)"
put rabbitmq_password.txt "$(pw)"
put rabbitmq.conf "default_user = ent
default_pass = $(cat rabbitmq_password.txt)
"
put ent_bus_url.txt "amqp://ent:$(cat rabbitmq_password.txt)@rabbitmq:5672/%2f"
put minio_root_user.txt "ent"
put minio_root_password.txt "$(pw)"
put grafana_admin_password.txt "$(pw)"
# The containers run as other users than the one running compose: readable, not writable.
chmod 0444 ./*.txt rabbitmq.conf
echo "secrets in $(pwd)"
