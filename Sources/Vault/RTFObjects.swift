/// Finds embedded objects in RTF, which Word opens and can activate (OLE objects, links that
/// update themselves when the document opens): the `\object` destination and the control words
/// that go with it (`\objdata`, `\objemb`, `\objlink`, `\objautlink`, `\objupdate`, `\objocx`...),
/// any control word that begins `\obj`. Case is ignored. A `\\` is an escaped backslash, not the
/// start of a control word.
struct RTFObjects: ContentCheck {
    /// 0 outside a control word; 1 after `\`; 2, 3, 4 after `\o`, `\ob`, `\obj`.
    private var matched = 0
    private var found = false

    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Refusal.Reason? {
        guard !found else { return ActiveContent.rtfObjects.reason }
        for c in bytes {
            let lc = c >= 0x41 && c <= 0x5A ? c | 0x20 : c
            switch matched {
            case 0: if c == 0x5C { matched = 1 }
            case 1: matched = lc == 0x6F ? 2 : 0  // after `\`: `o`, or anything else (`\\` included) ends it
            case 2: matched = lc == 0x62 ? 3 : c == 0x5C ? 1 : 0
            case 3: matched = lc == 0x6A ? 4 : c == 0x5C ? 1 : 0
            default:
                if lc >= 0x61 && lc <= 0x7A { found = true; return ActiveContent.rtfObjects.reason }
                matched = c == 0x5C ? 1 : 0
            }
        }
        return nil
    }

    mutating func finish() -> Refusal.Reason? { found ? ActiveContent.rtfObjects.reason : nil }
}
