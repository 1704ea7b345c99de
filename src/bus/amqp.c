/* amqp.c - placeholder until the RabbitMQ backend lands (being written now). */
#include "internal.h"

#include <stdio.h>

#include "../core/err.h"

int bus_amqp_start(const char *url, char *err, size_t errlen)
{
	(void)url;
	snprintf(err, errlen, "ent: ENT_BUS=amqp:// is not available in this build");
	return ENT_EUNAVAIL;
}
void bus_amqp_kick(void) {}
void bus_amqp_stop(void) {}
int bus_amqp_connected(void) { return 0; }
