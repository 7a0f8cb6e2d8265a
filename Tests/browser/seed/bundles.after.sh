# Names the child, adds the agency to ST1's directory, and tells the journeys where it all is.
curl -fsS -X PUT "$url/v1/children/C7/label?school=ST1" -H "Authorization: Bearer $seed_token" -H 'Content-Type: application/json' \
  -d '{"label": "Oliver Brightwater"}' >/dev/null
curl -fsS -X POST "$url/v1/recipients" -H "Authorization: Bearer $seed_token" -H 'Content-Type: application/json' \
  -d "{\"school\": \"ST1\", \"name\": \"Children's Social Care\", \"ageRecipient\": \"$bundles_agency\"}" >/dev/null
/usr/bin/python3 -c 'import json, sys; json.dump(dict(zip(["photo", "pdf", "note", "identity", "binary"], sys.argv[1:])), open(sys.argv[6], "w"))' \
  "$bundles_photo" "$bundles_pdf" "$bundles_note" "$work/bundle-agency.key" "$binary" "$work/bundles.json"
printf 'Oliver\nBrightwater\nJordan Mills\n' > "$work/bundles.labels"
