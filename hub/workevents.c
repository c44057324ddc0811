/* workevents — see workevents.h. */
#include "workevents.h"

#include "protocol.h"

void workevents_text(struct evbuffer *out, long long revision, bool full, bool more, const struct workevent_text *ev,
		     int n)
{
	evbuffer_add_printf(out,
			    "{\"apiVersion\":\"" PROTO_API_VERSION "\",\"kind\":\"WorkEvents\",\"revision\":\"%lld\","
			    "\"full\":%s,\"more\":%s,\"events\":[",
			    revision, full ? "true" : "false", more ? "true" : "false");
	for (int i = 0; i < n; i++) {
		/* type is one of three fixed words: nothing to escape */
		evbuffer_add_printf(out, "%s{\"type\":\"%s\",\"object\":", i ? "," : "", ev[i].type);
		evbuffer_add(out, ev[i].object, ev[i].len);
		evbuffer_add(out, "}", 1);
	}
	evbuffer_add(out, "]}", 2);
}
