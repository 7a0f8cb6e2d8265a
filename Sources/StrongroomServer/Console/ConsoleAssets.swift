import HTTPTypes
import Hummingbird
import NIOCore

/// The console's stylesheet and scripts, compiled into the binary (Package.swift embeds them)
/// and served at /assets/NAME. Only these names are served: the name is looked up, never used
/// as a path.
enum ConsoleAssets {
    struct Asset {
        let bytes: [UInt8]
        let contentType: String
    }

    /// Each asset as gzip, made once when first asked for.
    static let compressed: [String: [UInt8]] = all.compactMapValues { GzipAsset.compress($0.bytes) }

    static let all: [String: Asset] = [
        "console.css": Asset(bytes: PackageResources.console_css, contentType: "text/css; charset=utf-8"),
        "api.js": script(PackageResources.api_js),
        "webauthn.js": script(PackageResources.webauthn_js),
        "second-factor.js": script(PackageResources.second_factor_js),
        "sign-in.js": script(PackageResources.sign_in_js),
        "enrol.js": script(PackageResources.enrol_js),
        "account.js": script(PackageResources.account_js),
        "confirm.js": script(PackageResources.confirm_js),
        "attach.js": script(PackageResources.attach_js),
        "attach-upload.js": script(PackageResources.attach_upload_js),
        "attach-words.js": script(PackageResources.attach_words_js),
        "body-map.js": script(PackageResources.body_map_js),
        "body-map-drawing.js": script(PackageResources.body_map_drawing_js),
        "body-map-outline.js": script(PackageResources.body_map_outline_js),
        "header.js": script(PackageResources.header_js),
        "chronology.js": script(PackageResources.chronology_js),
        "record.js": script(PackageResources.record_js),
        "stepped-call.js": script(PackageResources.stepped_call_js),
        "people-add.js": script(PackageResources.people_add_js),
        "people-remove.js": script(PackageResources.people_remove_js),
        "people-approval.js": script(PackageResources.people_approval_js),
        "recipients.js": script(PackageResources.recipients_js),
        "waiting-count.js": script(PackageResources.waiting_count_js),
        "bundle-builder.js": script(PackageResources.bundle_builder_js),
        "redaction-boxes.js": script(PackageResources.redaction_boxes_js),
        "bundle.js": script(PackageResources.bundle_js),
        "step-up.js": script(PackageResources.step_up_js),
        "retention.js": script(PackageResources.retention_js),
        "shred-requests.js": script(PackageResources.shred_requests_js),
        "holds.js": script(PackageResources.holds_js),
        "date-of-birth.js": script(PackageResources.date_of_birth_js),
        "transfer-new.js": script(PackageResources.transfer_new_js),
        "transfer.js": script(PackageResources.transfer_js),
        "transfer-receive.js": script(PackageResources.transfer_receive_js),
        "schools.js": script(PackageResources.schools_js),
    ]

    private static func script(_ bytes: [UInt8]) -> Asset { Asset(bytes: bytes, contentType: "text/javascript; charset=utf-8") }

    static func response(named name: String, acceptEncoding: String? = nil) throws -> Response {
        guard let asset = all[name] else {
            throw Problem(status: .notFound, slug: "no-such-route", title: "Not Found", detail: "there is no such file")
        }
        var headers: HTTPFields = [.contentType: asset.contentType, .vary: "Accept-Encoding"]
        if GzipAsset.accepted(acceptEncoding), let gzip = compressed[name] {
            headers[.contentEncoding] = "gzip"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: gzip)))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}
