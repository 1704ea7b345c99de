/*
 * registry.c - the list of ENT's services.
 *
 * A new service adds its folder under src/services/, defines its `struct service`, and is listed
 * here. Order matters: services are migrated and started in this order, and stopped in reverse.
 */
#include "core/service.h"

extern const struct service svc_core;
extern const struct service svc_users;
extern const struct service svc_cours;
extern const struct service svc_fichiers;
extern const struct service svc_notifications;
extern const struct service svc_notes;
extern const struct service svc_calendar;
extern const struct service svc_support;
extern const struct service svc_messagerie;
extern const struct service svc_chatbot;
extern const struct service svc_auth;

const struct service *const service_registry[] = {
	&svc_core,     &svc_users,   &svc_fichiers,   &svc_cours,   &svc_notifications, &svc_notes,
	&svc_calendar, &svc_support, &svc_messagerie, &svc_chatbot, &svc_auth,          NULL,
};
