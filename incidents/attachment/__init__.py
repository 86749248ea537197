"""Files kept with the record: evidence on an incident, a timeline entry, an exclusion proposal or a report version."""
