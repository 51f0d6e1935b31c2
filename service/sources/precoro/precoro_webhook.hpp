// POST /webhooks/<source> for a Precoro source (SPEC section 5): the `?token=` secret compared
// in constant time, the body validated, and the delivery committed to the source's work queue
// (coalesced per entity) before the 200.
#pragma once

#include "http/message.hpp"
#include "sources/source.hpp"

namespace changefeed::sources::precoro {

/// The handler of a source's webhooks; `ctx` must outlive it. Answers 200 {"status": "accepted" |
/// "duplicate" | "ignored"} (ignored: a type whose resource the source is not configured for),
/// 400 naming the problem, 401 for a missing or wrong token (nothing stored), 503 with
/// Retry-After when the database cannot take the delivery.
http::handler make_webhook_handler(webhook_context& ctx);

}  // namespace changefeed::sources::precoro
