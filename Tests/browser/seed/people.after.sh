# The people journeys' agency name: it travels only in request bodies and queries, never the log.
printf '%s\n' "Northshire Children's Services" > "$work/people.labels"
