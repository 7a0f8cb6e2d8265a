# The bundle journeys' child C7 in ST1: a photo with GPS in its EXIF, a two-page PDF and a note
# naming a third party; and an agency's age key the journey decrypts the bundle with.
bundles_put() {
  "$binary" put "$1" --school ST1 --child C7 --concern K7 --kind "$2" --declared-type "$3" --json |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
pdfunite Tests/VaultTests/Samples/strategy-meeting-minutes.pdf Tests/VaultTests/Samples/strategy-meeting-minutes.pdf "$work/bundle-two-pages.pdf"
printf 'Jordan Mills told me her stepdad hit her. She is scared to go home.\n' > "$work/bundle-note.txt"
bundles_photo=$(bundles_put Tests/VaultTests/Samples/injury-photo-with-gps.jpg disclosure image/jpeg)
bundles_pdf=$(bundles_put "$work/bundle-two-pages.pdf" minutes application/pdf)
bundles_note=$(bundles_put "$work/bundle-note.txt" disclosure text/plain)
age-keygen -o "$work/bundle-agency.key" 2>/dev/null
bundles_agency=$(age-keygen -y "$work/bundle-agency.key")
