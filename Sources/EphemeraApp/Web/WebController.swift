import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Foundation
import Hummingbird

/// The web app's pages. They read through the same stores and the same visibility rule as the API, and the
/// pages' scripts act through the API itself (with the session cookie and the CSRF header), so there is one
/// behaviour to test. Forms that must work before any script runs (sign-in, sign-up, settings) post here.
struct WebController {
    let services: AppServices
    let pages: WebPages

    func register(on router: Router<AppRequestContext>) {
        router.get("/", use: home)
        router.get("/login") { request, context in authPage(request, context: context, signup: false) }
        router.post("/login", use: login)
        router.get("/signup") { request, context in authPage(request, context: context, signup: true) }
        router.post("/signup", use: signup)
        router.post("/logout", use: logout)
        router.post("/language", use: chooseLanguage)
        router.get("/new", use: newStory)
        router.get("/settings", use: settings)
        router.post("/settings", use: saveSettings)
        router.get("/recently-deleted", use: recentlyDeleted)
        router.get("/archive", use: archive)
        router.get("/archive/{day}", use: archiveDay)
        router.get("/scheduled", use: scheduled)
        router.get("/activity", use: activity)
        router.get("/@{handle}", use: profile)
        router.get("/@{handle}/story", use: viewer)
        router.get("/@{handle}/highlights/{id}", use: highlightViewer)
        router.get("/static/{file}", use: { request, context in try pages.asset(request, context: context) })
        router.head("/static/{file}", use: { request, context in try pages.asset(request, context: context) })
        router.get("/sw.js", use: { request, _ in try pages.serviceWorker(request) })
        router.head("/sw.js", use: { request, _ in try pages.serviceWorker(request) })
        router.get("/favicon.ico", use: { _, _ in WebPages.redirect(to: "/static/icon.svg") })
    }

    // MARK: Layout values

    /// The signed-in account for the layout (avatar, unread activity badge).
    func meView(_ context: AppRequestContext) async throws -> MeView? {
        guard let account = context.account else { return nil }
        let unread = try await services.inbox.unreadCount(for: account)
        return MeView(account, unread: unread)
    }

    /// The signed-in account, or a redirect to the sign-in page that comes back here afterwards.
    func signedIn(_ request: Request, _ context: AppRequestContext) throws -> Account {
        guard let account = context.account else { throw LoginRequired(returnTo: request.uri.description) }
        return account
    }

    /// Thumbnails of segments, with their authors (from the same reading as the API's bodies; pages use paths
    /// on this site, whatever the public URL is).
    func thumbs(_ segments: [Segment], context: AppRequestContext, href: (SegmentView) -> String,
                timeLeft: ((Segment) -> String?)? = nil) async throws -> [ThumbView] {
        thumbs(try await services.reading.views(of: segments, for: context.viewer), now: services.clock.now(),
               strings: pages.strings(context), href: href, timeLeft: timeLeft)
    }

    func thumbs(_ views: [SegmentView], now: Instant, strings: Catalogue, href: (SegmentView) -> String,
                timeLeft: ((Segment) -> String?)? = nil) -> [ThumbView] {
        views.map { view in
            let segment = view.segment
            return ThumbView(
                id: segment.id, person: PersonView(view.author), poster: posterPath(segment),
                isVideo: segment.kind == .video, duration: durationLabel(milliseconds: segment.durationMilliseconds),
                caption: segment.caption, when: shortAge(from: segment.createdAt, to: now, strings: strings), href: href(view),
                timeLeft: timeLeft?(segment))
        }
    }

    // MARK: Home

    struct HomeData: Sendable {
        var tray: [TrayItemView]
        var forYou: [ThumbView]
        var hasForYou: Bool
        var signedIn: Bool
    }

    @Sendable func home(_ request: Request, context: AppRequestContext) async throws -> Response {
        let now = services.clock.now()
        let s = pages.strings(context)
        var tray: [TrayItemView] = []
        if let me = context.account {
            let entries = try await services.reading.tray(for: me)
            let mine = entries.first { $0.entry.authorID == me.id }
            tray.append(TrayItemView(person: PersonView(me), ring: mine?.entry.ring.rawValue ?? "none", isMe: true,
                                     strings: s))
            for (entry, author) in entries where entry.authorID != me.id {
                tray.append(TrayItemView(person: PersonView(author), ring: entry.ring.rawValue, isMe: false, strings: s))
            }
        }
        let feed = try await services.reading.forYou(for: context.account, limit: 30, after: nil)
        let forYou = thumbs(feed.items, now: now, strings: s) { "/@\($0.author.handle)/story?segment=\($0.segment.id)" }
        return pages.render("home", title: "Ephemera",
                            data: HomeData(tray: tray, forYou: forYou, hasForYou: !forYou.isEmpty,
                                          signedIn: context.account != nil),
                            me: try await meView(context), context: context)
    }

    // MARK: Signing in and out

    struct LoginData: Sendable {
        var signup: Bool
        var handle: String
        var displayName: String
        var next: String
        var error: String?
        /// The sign-in page's language choice (a cookie for signed-out visitors).
        var languages: [NewData.Option]
    }

    /// The language choices: automatic (the browser's), then each language in its own words.
    func languageOptions(selected: Language?, strings s: Catalogue) -> [NewData.Option] {
        [NewData.Option(value: "auto", label: s["language_auto"], selected: selected == nil)]
            + Language.allCases.map { NewData.Option(value: $0.rawValue, label: s["language_\($0.rawValue)"],
                                                     selected: $0 == selected) }
    }

    /// The sign-in or sign-up form, with what was typed and the error of a failed attempt.
    func authForm(signup: Bool, handle: String = "", displayName: String = "", next: String, error: EphemeraError? = nil,
                  context: AppRequestContext) -> Response {
        let s = pages.strings(context)
        let cookie = context.cookieLanguage
        return pages.render("login", title: s[signup ? "create_your_account" : "sign_in"], page: "login", chrome: false,
                     data: LoginData(signup: signup, handle: handle, displayName: displayName, next: next,
                                     error: error.map(s.message),
                                     languages: languageOptions(selected: cookie, strings: s)),
                     me: nil, context: context, status: error.map { ErrorMiddleware.status(for: $0.kind) } ?? .ok)
    }

    func authPage(_ request: Request, context: AppRequestContext, signup: Bool) -> Response {
        if context.account != nil { return WebPages.redirect(to: "/") }
        let next = WebPages.safeReturnPath(request.uri.queryParameters["next"].map(String.init))
        return authForm(signup: signup, next: next, context: context)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormFields.read(request, context: context)
        let handle = (form["handle"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let next = WebPages.safeReturnPath(form["next"])
        do {
            let (_, token) = try await services.identity.signIn(handle: handle, password: form["password"] ?? "",
                                                                address: context.address)
            return signedInResponse(token: token, next: next)
        } catch let error as EphemeraError {
            return authForm(signup: false, handle: handle, next: next, error: error, context: context)
        }
    }

    @Sendable func signup(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormFields.read(request, context: context)
        let handle = (form["handle"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let displayName = form["displayName"] ?? ""
        let next = WebPages.safeReturnPath(form["next"])
        do {
            let (account, token) = try await services.identity.signUp(
                handle: handle, password: form["password"] ?? "", displayName: displayName, address: context.address)
            if let language = context.cookieLanguage {
                // The language chosen before signing up stays the account's, on every device.
                var settings = account.settings
                settings.language = language
                try await services.identity.updateSettings(of: account, settings)
            }
            return signedInResponse(token: token, next: next)
        } catch let error as EphemeraError {
            return authForm(signup: true, handle: handle, displayName: displayName, next: next, error: error,
                            context: context)
        }
    }

    private func signedInResponse(token: String, next: String) -> Response {
        var response = WebPages.redirect(to: next)
        response.setCookie(WebSession.sessionCookie(token, secure: pages.secureCookies))
        // A new CSRF token with the new session: one fixed before sign-in is not carried over.
        response.setCookie(WebSession.csrfCookie(WebSession.newCSRFToken(), secure: pages.secureCookies))
        return response
    }

    /// The language chosen on the sign-in page (`en`, `fr`, or `auto`): a cookie for this browser, and the
    /// account's setting too when someone is signed in. Back to the page it was chosen on.
    @Sendable func chooseLanguage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormFields.read(request, context: context)
        let language = try Language.parseSetting(form["language"] ?? "")
        if let me = context.account {
            var settings = me.settings
            settings.language = language
            try await services.identity.updateSettings(of: me, settings)
        }
        var response = WebPages.redirect(to: WebPages.safeReturnPath(form["next"]))
        response.setCookie(WebSession.languageCookie(language, secure: pages.secureCookies))
        return response
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let hash = context.tokenHash { try await services.identity.signOut(tokenHash: hash) }
        var response = WebPages.redirect(to: "/")
        response.setCookie(WebSession.expiredSessionCookie(secure: pages.secureCookies))
        return response
    }

    // MARK: Viewer

    struct ViewerState: Encodable {
        var author: AuthorBody
        var segments: [SegmentBody]
        var ring: String
        /// The authors to move on to at the end: unseen stories in tray order from here, then seen ones after.
        var next: [String]
        /// The segment to start at (from For You or an activity item).
        var start: String?
        var me: String?
        var isAuthor: Bool
        /// Whether I muted this author (the viewer's mute button).
        var mutedByMe: Bool
        var photoSeconds: Double
        /// When the viewer shows a highlight rather than the story.
        var highlight: HighlightState? = nil
        /// When it shows a day of my archive (`YYYY-MM-DD`).
        var archiveDay: String? = nil
    }

    struct HighlightState: Encodable {
        var id: String
        var title: String
        /// Its segments' ids in order, for its owner's changes (the list the API replaces).
        var segmentIds: [String]?
    }

    struct ReasonView: Sendable {
        var value: String
        var label: String
    }

    struct ViewerData: Sendable {
        var person: PersonView
        var storyJSON: String
        var empty: Bool
        var replyPlaceholder: String
        var replyLabel: String
        var muteLabel: String
        /// The highlight shown, when the viewer shows one.
        var highlightTitle: String? = nil
        var inHighlight = false
        /// The day of my archive shown, when it shows one.
        var archiveDay: String? = nil
        /// The quick reactions, in order.
        var reactions: [String] = QuickReaction.emoji
        /// The report sheet's choices.
        var reasons: [ReasonView]

        init(person: PersonView, storyJSON: String, empty: Bool, highlightTitle: String? = nil, inHighlight: Bool = false,
             archiveDay: String? = nil, strings s: Catalogue) {
            self.person = person
            self.storyJSON = storyJSON
            self.empty = empty
            self.highlightTitle = highlightTitle
            self.inHighlight = inHighlight
            self.archiveDay = archiveDay
            replyPlaceholder = s("reply_placeholder", ["handle": person.handle])
            replyLabel = s("reply_label", ["handle": person.handle])
            muteLabel = s("mute_author", ["handle": person.handle])
            reasons = ReportReason.allCases.map {
                ReasonView(value: $0.rawValue, label: WebModerationController.label($0, strings: s))
            }
        }
    }

    @Sendable func viewer(_ request: Request, context: AppRequestContext) async throws -> Response {
        let author = try await resolveUser(context.parameters.require("handle"), for: context, services: services)
        let bodies = try await services.reading.story(of: author, for: context.account).map {
            SegmentBody($0, viewer: context.viewer, publicURL: services.publicURL)
        }
        var next: [String] = []
        if let me = context.account {
            let tray = try await services.reading.tray(for: me)
            let handles = Dictionary(tray.map { ($0.entry.authorID, $0.author.handle) }, uniquingKeysWith: { first, _ in first })
            let order = authorsToMoveOnTo(after: author.id, viewerID: me.id, entries: tray.map(\.entry))
            next = order.compactMap { handles[$0] }
        }
        let state = ViewerState(
            author: AuthorBody(author), segments: bodies,
            ring: StoryRing(visibleSegments: bodies.count, unseenSegments: bodies.filter { !$0.seen }.count).rawValue,
            next: next, start: request.uri.queryParameters["segment"].map(String.init), me: context.account?.handle,
            isAuthor: context.account?.id == author.id,
            mutedByMe: try await services.reading.isMuted(author, by: context.account),
            photoSeconds: Segment.photoDisplaySeconds)
        let s = pages.strings(context)
        return pages.render("story", title: s("story_of", ["name": author.displayName]), page: "story", chrome: false,
                            data: ViewerData(person: PersonView(author), storyJSON: try scriptSafeJSON(state),
                                             empty: bodies.isEmpty, strings: s),
                            me: try await meView(context), context: context)
    }

    /// A highlight in the story viewer: its segments the caller may see, in its order, past their 24 hours;
    /// no tray to move on to, no views recorded, no interactions (they belong to the story while it lasts).
    @Sendable func highlightViewer(_ request: Request, context: AppRequestContext) async throws -> Response {
        let owner = try await resolveUser(context.parameters.require("handle"), for: context, services: services)
        let view = try await services.highlighting.read(try context.parameters.require("id"), by: context.account)
        guard view.owner.id == owner.id else { throw Highlighting.notFound }
        let body = HighlightBody(view, viewer: context.viewer, publicURL: services.publicURL)
        let segments = body.segments ?? []
        let isOwner = context.account?.id == owner.id
        let state = ViewerState(
            author: AuthorBody(owner), segments: segments, ring: "seen", next: [],
            start: request.uri.queryParameters["segment"].map(String.init), me: context.account?.handle,
            isAuthor: isOwner, mutedByMe: false, photoSeconds: Segment.photoDisplaySeconds,
            highlight: HighlightState(id: body.id, title: body.title, segmentIds: isOwner ? segments.map(\.id) : nil))
        let s = pages.strings(context)
        return pages.render("story", title: s("highlight_page_title", ["title": body.title, "name": owner.displayName]),
                            page: "story", chrome: false,
                            data: ViewerData(person: PersonView(owner), storyJSON: try scriptSafeJSON(state),
                                             empty: segments.isEmpty, highlightTitle: body.title, inHighlight: true,
                                             strings: s),
                            me: try await meView(context), context: context)
    }

    // MARK: Posting

    struct NewData: Sendable {
        struct Option: Sendable {
            var value: String
            var label: String
            var selected: Bool
        }
        var audiences: [Option]
        var filters: [Option]
        /// The server's default first (value ""), then the lifetimes it allows.
        var lifetimes: [Option]
        var maxSeconds: String
        var videoHint: String
        var splitLabel: String
        /// Text stories: the backgrounds, and the sizes by length (`TextStory.sizes`, "upTo:lineLength:fontSize,…").
        var backgrounds: [BackgroundOption]
        var textSizes = TextStory.sizes.map { "\($0.upTo):\($0.lineLength):\($0.fontSize)" }.joined(separator: ",")
        var maxTextLength = TextStory.maxLength
    }

    struct BackgroundOption: Sendable {
        var value: String
        var label: String
        var from: String
        var to: String
        var ink: String
        var selected: Bool
    }

    /// The audiences as people call them, for a `<select>`.
    static func audienceOptions(selected: Audience, strings s: Catalogue) -> [NewData.Option] {
        Audience.allCases.map {
            NewData.Option(value: $0.rawValue, label: audienceLabel($0, strings: s), selected: $0 == selected)
        }
    }

    /// An audience as people call it.
    static func audienceLabel(_ audience: Audience, strings s: Catalogue) -> String {
        switch audience {
        case .public: s["audience_public"]
        case .followers: s["audience_followers"]
        case .closeFriends: s["audience_close_friends"]
        }
    }

    @Sendable func newStory(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try signedIn(request, context)
        let s = pages.strings(context)
        let audiences = Self.audienceOptions(selected: me.settings.defaultAudience, strings: s)
        let filters = CreativeEdits.Filter.allCases.map {
            NewData.Option(value: $0.rawValue, label: s["filter_\($0.rawValue)"], selected: $0 == .none)
        }
        let seconds = services.configuration.mediaLimits.maxVideoSeconds
        let configuration = services.configuration
        let hours = { (duration: Duration) in s.count("hours", Int((duration.seconds / 3600).rounded())) }
        let lifetimes = [NewData.Option(value: "", label: s("lifetime_default", ["time": hours(configuration.storyLifetime)]),
                                        selected: true)]
            + StorySchedule.lifetimes.filter { $0.duration <= configuration.maxStoryLifetime && $0.duration != configuration.storyLifetime }
                .map { NewData.Option(value: $0.name, label: hours($0.duration), selected: false) }
        let maxSeconds = String(Int(seconds.rounded(.down)))
        let backgrounds = TextStory.Background.allCases.map {
            BackgroundOption(value: $0.rawValue, label: s["background_\($0.rawValue)"], from: $0.colors.0,
                             to: $0.colors.1, ink: $0.textColor, selected: $0 == .sunset)
        }
        return pages.render("new", title: s["new_story"],
                            data: NewData(audiences: audiences, filters: filters, lifetimes: lifetimes,
                                          maxSeconds: maxSeconds, videoHint: s("video_hint", ["seconds": maxSeconds]),
                                          splitLabel: s("split_label", ["seconds": maxSeconds]),
                                          backgrounds: backgrounds),
                            me: try await meView(context), context: context)
    }

    // MARK: Profile

    struct ProfileData: Sendable {
        var person: PersonView
        var profile: ProfileBody
        var hasStory: Bool
        var isMe: Bool
        var signedIn: Bool
        var highlights: [HighlightCircle]
        var watchLabel: String
        var followerCount: String
        var followersWord: String
        var followingCount: String
        var followingWord: String
        /// Whether the row shows (mine always, with its New circle).
        var hasHighlights: Bool
        /// On my own profile: my stories from this date in earlier years.
        var onThisDay: [OnThisDayCard]
    }

    struct OnThisDayCard: Sendable {
        var href: String
        var poster: String?
        var when: String
        var stories: String
    }

    /// A highlight's circle on a profile.
    struct HighlightCircle: Sendable {
        var href: String
        var title: String
        var poster: String?
        var label: String
    }

    @Sendable func profile(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try await resolveUser(context.parameters.require("handle"), for: context, services: services)
        let s = pages.strings(context)
        let body = ProfileBody(try await services.reading.profile(of: user, for: context.account))
        let highlights = try await services.highlighting.list(of: user, for: context.account).map {
            let id = $0.highlight.id
            return HighlightCircle(href: "/@\(user.handle)/highlights/\(id)", title: $0.highlight.title,
                                   poster: $0.cover.flatMap(posterPath).map { HighlightBody.through($0, id) },
                                   label: s.count("highlight_circle_label", $0.segmentCount, ["title": $0.highlight.title]))
        }
        let onThisDay = context.account?.id == user.id ? try await services.reading.onThisDay(of: user).map { entry in
            OnThisDayCard(href: "/archive/\(entry.day)", poster: entry.segments.first.flatMap { posterPath($0.segment) },
                          when: s.count("years_ago", entry.yearsAgo), stories: s.count("story_count", entry.segments.count))
        } : []
        let language = s.language
        return pages.render("profile", title: "\(user.displayName) (@\(user.handle))",
                            data: ProfileData(person: PersonView(user), profile: body, hasStory: body.storyRing != "none",
                                              isMe: context.account?.id == user.id, signedIn: context.account != nil,
                                              highlights: highlights,
                                              watchLabel: s("watch_story", ["name": user.displayName]),
                                              followerCount: language.integer(Int64(body.followerCount)),
                                              followersWord: s[language.isSingular(Int64(body.followerCount))
                                                  ? "followers_word_one" : "followers_word_other"],
                                              followingCount: language.integer(Int64(body.followingCount)),
                                              followingWord: s[language.isSingular(Int64(body.followingCount))
                                                  ? "following_word_one" : "following_word_other"],
                                              hasHighlights: !highlights.isEmpty || context.account?.id == user.id,
                                              onThisDay: onThisDay),
                            me: try await meView(context), context: context)
    }

    // MARK: Settings

    struct SettingsData: Sendable {
        var audiences: [NewData.Option]
        var settings: SettingsBody
        var saved: Bool
        var languages: [NewData.Option]
    }

    @Sendable func settings(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try signedIn(request, context)
        let s = pages.strings(context)
        let audiences = Self.audienceOptions(selected: me.settings.defaultAudience, strings: s)
        return pages.render("settings", title: s["settings"],
                            data: SettingsData(audiences: audiences, settings: SettingsBody(me.settings),
                                               saved: request.uri.queryParameters["saved"] != nil,
                                               languages: languageOptions(selected: me.settings.language, strings: s)),
                            me: try await meView(context), context: context)
    }

    @Sendable func saveSettings(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try signedIn(request, context)
        let form = try await FormFields.read(request, context: context)
        var settings = me.settings
        settings.defaultAudience = try Audience.parse(form["defaultAudience"] ?? "", field: "defaultAudience")
        settings.allowDownloads = form.flag("allowDownloads")
        settings.allowComments = form.flag("allowComments")
        settings.viewHistory = form.flag("viewHistory")
        settings.archiveExpired = form.flag("archiveExpired")
        if let language = form["language"] { settings.language = try Language.parseSetting(language) }
        try await services.identity.updateSettings(of: me, settings)
        var response = WebPages.redirect(to: "/settings?saved=1")
        // The same language after signing out, on this browser.
        response.setCookie(WebSession.languageCookie(settings.language, secure: pages.secureCookies))
        return response
    }

    // MARK: Recently deleted, archive, activity

    struct ListData: Sendable {
        var items: [ThumbView]
        var empty: Bool
        var lede: String
    }

    @Sendable func recentlyDeleted(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try signedIn(request, context)
        let s = pages.strings(context)
        let now = services.clock.now()
        let page = try await services.deleting.recentlyDeleted(of: me, limit: 100, after: nil)
        let items = try await thumbs(page.items, context: context, href: { _ in "#" }) { segment in
            segment.restorableUntil.map { timeLeft(until: $0, now: now, strings: s) }
        }
        let days = Int(services.configuration.restoreWindow.components.seconds / 86_400)
        return pages.render("recently_deleted", title: s["recently_deleted"], page: "recently-deleted",
                            data: ListData(items: items, empty: items.isEmpty,
                                           lede: s("recently_deleted_lede", ["days": s.count("days", days)])),
                            me: try await meView(context), context: context)
    }

    struct ArchiveData: Sendable {
        var months: [MonthView]
        var empty: Bool
        /// `/archive?before=YYYY-MM` when older months remain.
        var olderHref: String?
        /// This page continues an earlier one (`?before=`).
        var continued: Bool
        var weekdays: [String]
    }

    struct MonthView: Sendable {
        var key: String
        var title: String
        var cells: [DayView]
    }

    /// A square of the archive's calendar: a day with my stories (a link to watch them), one without, or a blank.
    struct DayView: Sendable {
        var blank: Bool
        var day: String
        var href: String
        var poster: String?
        var count: Int
        var label: String
        var hasStories: Bool
    }

    /// How many archived segments a page of the archive's calendar reads.
    static let archivePage = 500

    /// My archive as a calendar: a month at a time, newest first, each day with stories showing its first one's
    /// picture and opening them in the viewer.
    @Sendable func archive(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try signedIn(request, context)
        let s = pages.strings(context)
        // A page of the newest 500 (before a month, for "Older months"); a month the page cuts short waits for the next.
        let before = try request.uri.queryParameters["before"].map { try ArchiveCalendar.span(ofMonth: String($0)).start }
        let page = try await services.reading.archive(of: me, limit: Self.archivePage,
                                                      after: before.map { PageCursor(instant: $0.milliseconds, id: "") })
        var segments = page.items.map(\.segment)
        var found = ArchiveCalendar.months(of: segments, language: s.language)
        if page.nextCursor != nil, found.count == 1, let only = found.first {
            // One month fills the page: it is shown whole, and the next page begins before it.
            segments = try await services.reading.archive(of: me, month: only.key).map(\.segment)
            found = ArchiveCalendar.months(of: segments, language: s.language)
        }
        let byID = Dictionary(segments.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let (shown, continueBefore) = ArchiveCalendar.paged(found, morePastPage: page.nextCursor != nil)
        let months = shown.map { month in
            MonthView(key: month.key, title: month.title,
                      cells: month.cells.map { cell in
                guard let day = cell.day, let date = cell.date else {
                    return DayView(blank: true, day: "", href: "", poster: nil, count: 0, label: "", hasStories: false)
                }
                return DayView(blank: false, day: String(day), href: "/archive/\(date)",
                               poster: cell.coverSegmentID.flatMap { byID[$0] }.flatMap(posterPath), count: cell.count,
                               label: s("archive_day_label", ["day": ArchiveCalendar.title(ofDay: date, language: s.language),
                                                              "stories": s.count("story_count", cell.count)]),
                               hasStories: cell.count > 0)
            })
        }
        return pages.render("archive", title: s["archive"],
                            data: ArchiveData(months: months, empty: months.isEmpty,
                                              olderHref: continueBefore.map { "/archive?before=\($0)" },
                                              continued: before != nil,
                                              weekdays: s["weekdays_short"].split(separator: ",").map(String.init)),
                            me: try await meView(context), context: context)
    }

    /// One day of my archive in the viewer, as its author: watch, add to a highlight, download, delete.
    @Sendable func archiveDay(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try signedIn(request, context)
        let day = try context.parameters.require("day")
        let bodies = try await services.reading.archive(of: me, day: day).map {
            SegmentBody($0, viewer: context.viewer, publicURL: services.publicURL)
        }
        let s = pages.strings(context)
        let title = ArchiveCalendar.title(ofDay: day, language: s.language)
        let state = ViewerState(
            author: AuthorBody(me), segments: bodies, ring: "seen", next: [],
            start: request.uri.queryParameters["segment"].map(String.init), me: me.handle, isAuthor: true,
            mutedByMe: false, photoSeconds: Segment.photoDisplaySeconds, archiveDay: day)
        return pages.render("story", title: "\(s["archive"]) · \(title)", page: "story", chrome: false,
                            data: ViewerData(person: PersonView(me), storyJSON: try scriptSafeJSON(state),
                                             empty: bodies.isEmpty, archiveDay: title, strings: s),
                            me: try await meView(context), context: context)
    }

    /// My scheduled stories, soonest first, each with when it goes live.
    @Sendable func scheduled(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try signedIn(request, context)
        let s = pages.strings(context)
        let now = services.clock.now()
        let items = try await thumbs(try await services.reading.scheduled(of: me), context: context, href: { _ in "#" }) {
            segment in segment.publishAt.map { s("goes_live_in", ["time": timeUntil($0, now: now, strings: s)]) }
        }
        return pages.render("scheduled", title: s["scheduled"], page: "scheduled",
                            data: ListData(items: items, empty: items.isEmpty, lede: ""),
                            me: try await meView(context), context: context)
    }

    struct ActivityData: Sendable {
        var items: [ActivityView]
        var empty: Bool
        var hasUnread: Bool
    }

    @Sendable func activity(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try signedIn(request, context)
        let s = pages.strings(context)
        let now = services.clock.now()
        let page = try await services.inbox.page(for: me, limit: 100, after: nil)
        let items = page.items.map { entry -> ActivityView in
            let (item, actor) = (entry.item, entry.actor)
            let sentence: String
            switch item.kind {
            case .like: sentence = s["activity_like"]
            case .reaction: sentence = s("activity_reaction", ["emoji": item.text ?? ""])
            case .reply: sentence = s["activity_reply"]
            case .comment: sentence = s["activity_comment"]
            case .share: sentence = s["activity_share"]
            case .follow: sentence = s["activity_follow"]
            case .takedown: sentence = s["activity_takedown"]
            case .appealRestored: sentence = s["activity_appeal_restored"]
            case .appealUpheld: sentence = s["activity_appeal_upheld"]
            }
            let fromModerators = [.takedown, .appealRestored, .appealUpheld].contains(item.kind)
            let href = fromModerators ? "/removed"
                : item.segmentID.map { "/@\(me.handle)/story?segment=\($0)" } ?? "/@\(actor.handle)"
            return ActivityView(person: PersonView(actor), system: fromModerators, sentence: sentence,
                                quote: item.kind == .reaction ? nil : item.text,
                                when: shortAge(from: item.createdAt, to: now, strings: s),
                                unread: !entry.read, href: href)
        }
        // A GET changes nothing (API.md): once the page is shown, its script marks the inbox read with
        // `POST /api/v1/me/activity/read`, so a prefetch or a link preview of /activity reads nothing.
        return pages.render("activity", title: s["activity"],
                            data: ActivityData(items: items, empty: items.isEmpty, hasUnread: items.contains(where: \.unread)),
                            me: MeView(me, unread: page.unreadCount), context: context)
    }
}

/// Thrown by pages that need an account; the error middleware answers with a redirect to `/login`.
struct LoginRequired: Error {
    var returnTo: String
}
