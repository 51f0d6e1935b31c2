#include "sources/precoro/precoro_spec.hpp"

namespace changefeed::sources::precoro {

using namespace std::chrono_literals;

kind_spec precoro_spec() {
    return {
        .kind = "precoro",
        .knobs =
            {
                {.name = "token",
                 .type = knob_type::secret,
                 .required = true,
                 .help = "API key, sent as X-AUTH-TOKEN"},
                {.name = "email",
                 .type = knob_type::secret,
                 .required = true,
                 .help = "the key owner's email, sent as the email header"},
                {.name = "webhook_secret",
                 .type = knob_type::secret,
                 .required = true,
                 .help = "the ?token= that POST /webhooks/<source> must carry"},
                {.name = "per_page",
                 .type = knob_type::integer,
                 .default_value = 200,
                 .help = "list page size",
                 .allowed_values = {10, 20, 50, 100, 200}},
                {.name = "overlap",
                 .type = knob_type::duration,
                 .default_value = duration_default(10min),
                 .help = "modifiedSince = last sweep start minus this (UTC)"},
            },
        .default_rate_limit = {{300, 1min}, {1500, 1h}, {3000, 24h}},
        .default_poll_interval = 15min,
        .allowed_resources = {"purchaseorders", "invoices", "suppliers", "items", "receipts",
                              "expenses", "warehouserequests", "purchaserequisitions", "rfps",
                              "stocktransfers", "budgets"},
        .default_resources = {"suppliers", "purchaseorders", "invoices"},
    };
}

}  // namespace changefeed::sources::precoro
