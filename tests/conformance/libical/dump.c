/*
 * Decode a feed with libical (the parser of Evolution, GNOME Calendar and KDE) and print JSON.
 *
 * Why C: libical's own C entry point is what those apps call, and it is the only widely used
 * parser that unfolds at byte level. It never aborts on bad input; it records problems as
 * X-LIC-ERROR properties and drops the bad property, so every X-LIC-ERROR is listed in "errors"
 * for the Python adapter to turn into a rejection. Reads the feed on stdin; exit 2 when libical
 * could not build a VCALENDAR at all.
 *
 * Output: {"errors": [...], "props": {NAME: value}, "events": [{...}]}, the same event shape as
 * tests/conformance/node/dump.mjs so both are decoded by one Python function.
 */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_stdin(void) {
    size_t size = 0, capacity = 65536;
    char *buffer = malloc(capacity + 1);
    size_t got;
    while (buffer && (got = fread(buffer + size, 1, capacity - size, stdin)) > 0) {
        size += got;
        if (size == capacity) {
            capacity *= 2;
            buffer = realloc(buffer, capacity + 1);
        }
    }
    if (buffer) buffer[size] = '\0';
    return buffer;
}

static void put_string(const char *text) {
    if (!text) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') printf("\\%c", *c);
        else if (*c < 0x20) printf("\\u%04x", *c);
        else putchar(*c);
    }
    putchar('"');
}

/* TEXT values come back unescaped by libical; other kinds as libical re-serialises them. */
static const char *value_text(icalproperty *prop) {
    if (!prop) return NULL;
    icalvalue *value = icalproperty_get_value(prop);
    if (value && icalvalue_isa(value) == ICAL_TEXT_VALUE) return icalvalue_get_text(value);
    return icalproperty_get_value_as_string(prop);
}

static icalproperty *named(icalcomponent *comp, const char *name) {
    for (icalproperty *p = icalcomponent_get_first_property(comp, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_ANY_PROPERTY)) {
        if (strcmp(icalproperty_get_property_name(p), name) == 0) return p;
    }
    return NULL;
}

static void put_time(struct icaltimetype time) {
    if (icaltime_is_null_time(time)) {
        fputs("null", stdout);
    } else if (icaltime_is_date(time)) {
        printf("{\"date\": \"%04d-%02d-%02d\"}", time.year, time.month, time.day);
    } else {
        /* Floating (or unresolvable TZID) times have no zone: read the wall clock as UTC. */
        const icaltimezone *zone = time.zone ? time.zone : icaltimezone_get_utc_timezone();
        printf("{\"utc\": %lld}", (long long)icaltime_as_timet_with_zone(time, zone));
    }
}

static void put_key(const char *key, int first) {
    printf("%s\"%s\": ", first ? "" : ", ", key);
}

static void put_text_field(const char *key, icalproperty *prop) {
    put_key(key, 0);
    put_string(value_text(prop));
}

static void put_errors(icalcomponent *comp, int *first) {
    for (icalproperty *p = icalcomponent_get_first_property(comp, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_XLICERROR_PROPERTY)) {
        fputs(*first ? "" : ", ", stdout);
        *first = 0;
        put_string(icalproperty_get_xlicerror(p));
    }
    for (icalcomponent *c = icalcomponent_get_first_component(comp, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(comp, ICAL_ANY_COMPONENT)) {
        put_errors(c, first);
    }
}

/* A trigger is either a duration relative to the start or (VALUE=DATE-TIME) an absolute time, which
 * libical keeps in .time; each is printed in its own field and the other one is null. */
static void put_alarm(icalcomponent *alarm) {
    icalproperty *trigger = icalcomponent_get_first_property(alarm, ICAL_TRIGGER_PROPERTY);
    struct icaltriggertype value = icaltriggertype_from_int(0);
    if (trigger) value = icalproperty_get_trigger(trigger);
    int absolute = trigger && !icaltime_is_null_time(value.time);
    put_key("action", 1);
    put_string(value_text(icalcomponent_get_first_property(alarm, ICAL_ACTION_PROPERTY)));
    put_key("trigger_seconds", 0);
    if (trigger && !absolute) printf("%d", icaldurationtype_as_int(value.duration));
    else fputs("null", stdout);
    put_key("trigger_time", 0);
    if (absolute) put_time(value.time);
    else fputs("null", stdout);
    put_text_field("description", icalcomponent_get_first_property(alarm, ICAL_DESCRIPTION_PROPERTY));
}

static void put_event(icalcomponent *event) {
    icalproperty *sequence = icalcomponent_get_first_property(event, ICAL_SEQUENCE_PROPERTY);
    icalproperty *modified = icalcomponent_get_first_property(event, ICAL_LASTMODIFIED_PROPERTY);
    int first = 1;

    put_key("uid", 1);
    put_string(icalcomponent_get_uid(event));
    put_text_field("summary", icalcomponent_get_first_property(event, ICAL_SUMMARY_PROPERTY));
    put_text_field("description", icalcomponent_get_first_property(event, ICAL_DESCRIPTION_PROPERTY));
    put_text_field("location", icalcomponent_get_first_property(event, ICAL_LOCATION_PROPERTY));
    put_text_field("url", icalcomponent_get_first_property(event, ICAL_URL_PROPERTY));
    put_key("start", 0);
    put_time(icalcomponent_get_dtstart(event));
    put_key("end", 0);
    if (icalcomponent_get_first_property(event, ICAL_DTEND_PROPERTY)) put_time(icalcomponent_get_dtend(event));
    else fputs("null", stdout);
    put_key("categories", 0);
    putchar('[');
    for (icalproperty *p = icalcomponent_get_first_property(event, ICAL_CATEGORIES_PROPERTY); p;
         p = icalcomponent_get_next_property(event, ICAL_CATEGORIES_PROPERTY)) {
        fputs(first ? "" : ", ", stdout);
        first = 0;
        put_string(value_text(p));
    }
    putchar(']');
    put_text_field("transp", icalcomponent_get_first_property(event, ICAL_TRANSP_PROPERTY));
    put_text_field("status", icalcomponent_get_first_property(event, ICAL_STATUS_PROPERTY));
    put_key("sequence", 0);
    if (sequence) printf("%d", icalproperty_get_sequence(sequence));
    else fputs("null", stdout);
    put_key("last_modified", 0);
    put_time(modified ? icalproperty_get_lastmodified(modified) : icaltime_null_time());
    put_key("dtstamp", 0);
    put_time(icalcomponent_get_dtstamp(event));
    put_text_field("image", named(event, "IMAGE"));
    put_text_field("attach", icalcomponent_get_first_property(event, ICAL_ATTACH_PROPERTY));
    put_key("alarms", 0);
    putchar('[');
    first = 1;
    for (icalcomponent *a = icalcomponent_get_first_component(event, ICAL_VALARM_COMPONENT); a;
         a = icalcomponent_get_next_component(event, ICAL_VALARM_COMPONENT)) {
        fputs(first ? "{" : ", {", stdout);
        first = 0;
        put_alarm(a);
        putchar('}');
    }
    putchar(']');
}

int main(void) {
    char *text = read_stdin();
    if (!text) return 3;
    icalcomponent *root = icalparser_parse_string(text);
    if (!root || icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT) {
        fprintf(stderr, "libical: no VCALENDAR could be parsed (%s)\n", icalerror_strerror(icalerrno));
        return 2;
    }
    int first = 1;
    fputs("{\"errors\": [", stdout);
    put_errors(root, &first);
    fputs("], \"props\": {", stdout);
    first = 1;
    for (icalproperty *p = icalcomponent_get_first_property(root, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(root, ICAL_ANY_PROPERTY)) {
        if (icalproperty_isa(p) == ICAL_XLICERROR_PROPERTY) continue;
        fputs(first ? "" : ", ", stdout);
        first = 0;
        put_string(icalproperty_get_property_name(p));
        fputs(": ", stdout);
        put_string(value_text(p));
    }
    fputs("}, \"events\": [", stdout);
    first = 1;
    for (icalcomponent *e = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT); e;
         e = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT)) {
        fputs(first ? "{" : ", {", stdout);
        first = 0;
        put_event(e);
        putchar('}');
    }
    fputs("]}\n", stdout);
    icalcomponent_free(root);
    free(text);
    return 0;
}
