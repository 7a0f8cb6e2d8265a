# Names the child of the transfer journeys in ST1, and pins ST9's card in ST1's directory as if
# its fingerprint had been read out by telephone.
curl -fsS -X PUT "$url/v1/children/C31/label?school=ST1" -H "Authorization: Bearer $seed_token" -H 'Content-Type: application/json' \
  -d '{"label": "Poppy Hartley"}' >/dev/null
printf 'Poppy\nHartley\n' > "$work/transfers.labels"
/usr/bin/python3 -c 'import json, sys; card = json.load(open(sys.argv[1])); print(json.dumps({"school": "ST1", "card": card, "fingerprint": card["fingerprint"]}))' \
  "$work/transfer-card-ST9.json" |
  curl -fsS -X POST "$url/v1/schools" -H "Authorization: Bearer $seed_token" -H 'Content-Type: application/json' -d @- >/dev/null
