import CoreMetrics
import Foundation
import Metrics
import Prometheus

/// Every metric the server emits, named once here (reusing a name with other labels crashes
/// the process). Label values come from small fixed sets: routes as templates, refusal codes.
enum ServerMetrics {
    static let bytesIn = CoreMetrics.Counter(label: "strongroom_upload_bytes_total")
    static let bytesOut = CoreMetrics.Counter(label: "strongroom_download_bytes_total")
    static func refusals(_ code: String) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: "strongroom_refusals_total", dimensions: [("reason", code)])
    }
    /// Requests refused because the disk holding the store is full (answered 507).
    static let storageFull = CoreMetrics.Counter(label: "strongroom_storage_full_total")
    static let auditAppend = CoreMetrics.Timer(label: "strongroom_audit_append_seconds", preferredDisplayUnit: .seconds)

    private static let lock = NSLock()
    nonisolated(unsafe) private static var registry: PrometheusCollectorRegistry?

    /// Installs the Prometheus backend once per process; later calls return the same registry.
    static func bootstrap() -> PrometheusCollectorRegistry {
        lock.withLock {
            if let registry { return registry }
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            Self.registry = registry
            // Shown at 0 from the start, so an alert can watch it increase.
            storageFull.increment(by: 0)
            return registry
        }
    }
}
