# The retention desk's journeys (test_desk.py): records of child C21 whose retention is over (a
# date of birth 25 years ago), one of C22 likewise but put under legal hold once serving, and one
# of C23 with no date of birth yet. Sourced by Scripts/test-browser.sh with the CLI ($binary).
desk_put() {
  printf 'Record kept for the retention review: %s.\n' "$2" > "$work/desk-$2.txt"
  "$binary" put "$work/desk-$2.txt" --school ST1 --child "$1" --concern K21 --kind minutes --declared-type text/plain --json |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
desk_shred=$(desk_put C21 shred)
desk_withdraw=$(desk_put C21 withdraw)
desk_held=$(desk_put C22 held)
desk_dob=$(desk_put C23 dob)
"$binary" child set-dob C21 2000-01-01 --school ST1 >/dev/null
"$binary" child set-dob C22 2000-01-01 --school ST1 >/dev/null
/usr/bin/python3 -c 'import json, sys; print(json.dumps(dict(zip(["binary", "store", "shred", "withdraw", "held", "dob"], sys.argv[1:]))))' \
  "$binary" "$STRONGROOM_STORE" "$desk_shred" "$desk_withdraw" "$desk_held" "$desk_dob" > "$work/desk.json"
