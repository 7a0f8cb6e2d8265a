# With the server up: names for the desk's children, and a legal hold on C22's record.
desk_api() {
  curl -fsS -X "$1" "$url/v1/$2" -H "Authorization: Bearer $seed_token" -H 'Content-Type: application/json' -d "$3" >/dev/null
}
desk_api PUT "children/C21/label?school=ST1" '{"label": "Oliver Pennington"}'
desk_api PUT "children/C22/label?school=ST1" '{"label": "Maisie Thornbury"}'
desk_api PUT "children/C23/label?school=ST1" '{"label": "Freddie Ashworth"}'
desk_held_record=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["held"])' "$work/desk.json")
desk_api POST holds "{\"school\": \"ST1\", \"record\": \"$desk_held_record\", \"reason\": \"Police investigation\"}"
printf '%s\n' "Oliver Pennington" "Maisie Thornbury" "Freddie Ashworth" "Pennington" "Thornbury" "Ashworth" > "$work/desk.labels"
