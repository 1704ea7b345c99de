/*
 * err.c - maps ent_err values to HTTP statuses and messages: a short English name for the logs
 * (ent_err_str) and a French sentence for the people who read answers (ent_err_text).
 */
#include "err.h"

int ent_err_status(int err)
{
	switch (err) {
	case ENT_OK: return 200;
	case ENT_EINVAL: return 400;
	case ENT_ENOTFOUND: return 404;
	case ENT_ECONFLICT: return 409;
	case ENT_EFORBIDDEN: return 403;
	case ENT_EAUTH: return 401;
	case ENT_ETOOBIG: return 413;
	case ENT_EBUSY: return 503;
	case ENT_EUNAVAIL: return 503;
	default: return 500;
	}
}

const char *ent_err_str(int err)
{
	switch (err) {
	case ENT_OK: return "ok";
	case ENT_EINVAL: return "invalid input";
	case ENT_ENOTFOUND: return "not found";
	case ENT_ECONFLICT: return "conflict";
	case ENT_EFORBIDDEN: return "forbidden";
	case ENT_EAUTH: return "authentication required";
	case ENT_ETOOBIG: return "too large";
	case ENT_EBUSY: return "busy";
	case ENT_EDB: return "database error";
	case ENT_EIO: return "input/output error";
	case ENT_ENOMEM: return "out of memory";
	case ENT_EUNAVAIL: return "service unavailable";
	default: return "internal error";
	}
}

const char *ent_err_text(int err)
{
	switch (err) {
	case ENT_OK: return "C'est fait.";
	case ENT_EINVAL: return "La demande est incorrecte.";
	case ENT_ENOTFOUND: return "Cette ressource n'existe pas ou ne vous est pas visible.";
	case ENT_ECONFLICT: return "Conflit : la ressource a changé ou existe déjà.";
	case ENT_EFORBIDDEN: return "Vous n'avez pas accès à cette ressource.";
	case ENT_EAUTH: return "Une connexion est nécessaire : reconnectez-vous.";
	case ENT_ETOOBIG: return "Le contenu est trop volumineux.";
	case ENT_EBUSY:
	case ENT_EUNAVAIL: return "La base de données est occupée ou injoignable : réessayez dans un instant.";
	default: return "Le serveur a rencontré une erreur : réessayez plus tard.";
	}
}
