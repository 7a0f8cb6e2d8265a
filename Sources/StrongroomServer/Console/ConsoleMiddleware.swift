import Hummingbird

/// Wraps every console route: adds `ConsoleHeaders` to each response, and turns an error into
/// an HTML page (with the problem's status) rather than the API's problem+json, so a person
/// who follows a dead link reads what to do next.
struct ConsoleMiddleware: RouterMiddleware {
    typealias Context = StrongroomContext
    let pages: ConsolePages

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let problem = Problem.from(error)
            if problem.status.code >= 500 {
                context.logger.error("console page failed", metadata: ["problem": .string(problem.slug), "error": .string("\(error)")])
            }
            response = try pages.problem(problem)
        }
        ConsoleHeaders.apply(to: &response.headers)
        return response
    }
}
