// Decode a feed with Mozilla ical.js exactly as Thunderbird does, and print the decoded values.
//
// Why a separate Node process: ical.js is the parser inside Thunderbird; running the real thing is
// the only way to see what Thunderbird users will see. Lenient mode (ICAL.design.strict = false) is
// Thunderbird's setting. Reads the feed bytes on stdin, writes JSON on stdout; a parse failure is
// printed on stderr with exit code 2 so the Python adapter can tell "rejected" from "crashed".
import ICAL from "ical.js";
import { readFileSync } from "node:fs";

ICAL.design.strict = false;

// Thunderbird hands ical.js text decoded as UTF-8 with replacement characters for bad bytes.
const text = new TextDecoder("utf-8").decode(readFileSync(0));

function instant(prop) {
  if (!prop) return null;
  const value = prop.getFirstValue();
  if (value === null || typeof value !== "object" || !("isDate" in value)) {
    throw new Error(`${prop.name} is not a date or date-time: ${JSON.stringify(value)}`);
  }
  if (value.isDate) return { date: value.toString() };
  // Floating and unknown-TZID times have no zone; ical.js then uses the wall clock as UTC.
  return { utc: value.toUnixTime() };
}

function text1(component, name) {
  const value = component.getFirstPropertyValue(name);
  return value === null ? null : String(value);
}

// A TRIGGER is a duration relative to the start, or (VALUE=DATE-TIME) the instant the alarm fires,
// which Thunderbird uses as is; each is reported in its own field, the other one null.
function alarm(component) {
  const trigger = component.getFirstPropertyValue("trigger");
  return {
    action: text1(component, "action"),
    trigger_seconds: trigger instanceof ICAL.Duration ? trigger.toSeconds() : null,
    trigger_time: trigger instanceof ICAL.Time ? { utc: trigger.toUnixTime() } : null,
    description: text1(component, "description"),
  };
}

function event(component) {
  const sequence = component.getFirstPropertyValue("sequence");
  return {
    uid: text1(component, "uid"),
    summary: text1(component, "summary"),
    description: text1(component, "description"),
    location: text1(component, "location"),
    url: text1(component, "url"),
    start: instant(component.getFirstProperty("dtstart")),
    end: instant(component.getFirstProperty("dtend")),
    categories: component.getAllProperties("categories").flatMap((p) => p.getValues().map(String)),
    transp: text1(component, "transp"),
    status: text1(component, "status"),
    sequence: sequence === null ? null : Number(sequence),
    last_modified: instant(component.getFirstProperty("last-modified")),
    dtstamp: instant(component.getFirstProperty("dtstamp")),
    image: text1(component, "image"),
    attach: text1(component, "attach"),
    alarms: component.getAllSubcomponents("valarm").map(alarm),
  };
}

try {
  const calendar = new ICAL.Component(ICAL.parse(text));
  if (calendar.name !== "vcalendar") throw new Error(`top component is ${calendar.name}`);
  const props = {};
  for (const prop of calendar.getAllProperties()) {
    if (!(prop.name.toUpperCase() in props)) props[prop.name.toUpperCase()] = String(prop.getFirstValue());
  }
  const events = calendar.getAllSubcomponents("vevent").map(event);
  process.stdout.write(JSON.stringify({ props, events }));
} catch (error) {
  process.stderr.write(`${error.name}: ${error.message}\n`);
  process.exit(2);
}
