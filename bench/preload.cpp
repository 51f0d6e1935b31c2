// Fills the outbox with N synthetic events (through COPY, fast) for the feed benchmark.
#include "db/migrations.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <cstdlib>

int main(int argc, char** argv) {
    if (argc < 3) {
        fmt::print(stderr, "usage: outbox_preload DATABASE_URL EVENTS\n");
        return 2;
    }
    std::string url = argv[1];
    long long n = std::atoll(argv[2]);
    changefeed::db::apply_migrations(url);
    pqxx::connection conn(url);
    pqxx::work tx(conn);
    // Server-side generation: the payload has the shape and size of a real event.
    tx.exec_params(R"~(
INSERT INTO outbox (event_id, source, source_kind, resource, resource_id, operation, occurred_at,
                    recorded_at, payload)
SELECT gen_random_uuid(), 'pennylane', 'pennylane', 'customer_invoices', i::text, 'update', now(),
       now(),
       jsonb_build_object('event_id', gen_random_uuid(), 'source', 'pennylane',
                          'source_kind', 'pennylane', 'resource', 'customer_invoices',
                          'resource_id', i::text, 'operation', 'update',
                          'occurred_at', '2026-11-20T09:15:02.123Z',
                          'recorded_at', '2026-11-20T09:15:04.870Z',
                          'upstream', jsonb_build_object('id', i, 'operation', 'update',
                                                         'processed_at', '2026-11-20T09:15:02.123Z',
                                                         'updated_at', '2026-11-20T09:15:02.123Z',
                                                         'created_at', '2026-11-01T08:00:00.000Z'))
  FROM generate_series(1, $1) AS i
)~",
                   n);
    tx.commit();
    fmt::print("preloaded {}\n", n);
    return 0;
}
