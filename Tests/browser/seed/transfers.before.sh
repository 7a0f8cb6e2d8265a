# The transfer journeys (test_transfers.py): two schools of this vault on cards, ST1 (Oakfield)
# and ST9 (Riverside). ST9 is pinned in ST1's directory by transfers.after.sh; ST1's card is left
# for the journey, where ST9's DSL adds it by typing the fingerprint. Child C31 of ST1 has two
# records.
"$binary" transfer card --school ST1 --name "Oakfield Primary School" -o "$work/transfer-card-ST1.json" >/dev/null
"$binary" transfer card --school ST9 --name "Riverside Academy" -o "$work/transfer-card-ST9.json" >/dev/null
transfers_fingerprint() { /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["fingerprint"])' "$1"; }
transfers_put() {
  printf '%s\n' "$2" > "$work/transfer-$1.txt"
  "$binary" put "$work/transfer-$1.txt" --school ST1 --child C31 --concern K31 --kind "$1" --declared-type text/plain --json |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
transfers_note=$(transfers_put disclosure 'She said she was frightened at home.')
transfers_minutes=$(transfers_put minutes 'Notes of the team around the child meeting.')
/usr/bin/python3 -c 'import json, sys; print(json.dumps(dict(zip(["card", "fingerprint", "note", "minutes"], sys.argv[1:]))))' \
  "$work/transfer-card-ST1.json" "$(transfers_fingerprint "$work/transfer-card-ST1.json")" "$transfers_note" "$transfers_minutes" > "$work/transfers.json"
