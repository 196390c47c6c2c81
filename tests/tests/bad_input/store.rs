//! Bad input to the store's admin API: the rows of the table for its RPCs.

use super::*;

#[rustfmt::skip]
pub(crate) fn rows(t: &mut Table, ch: &Channels) {
    use Code::{PermissionDenied, Unauthenticated};
    let stats = |auth| call!(StoreAdminClient, ch.store, stats, auth, StatsRequest {});
    let verify = |auth| call!(StoreAdminClient, ch.store, verify, auth, VerifyRequest {});

    let rpc = "store.Stats";
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call Stats",
        stats(OPERATOR));
    t.row(rpc, "department role", PermissionDenied, "role department may not call Stats",
        stats(GAS));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        stats(Auth::NoToken));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        stats(UNKNOWN_TOKEN));

    let rpc = "store.Verify";
    t.row(rpc, "department role", PermissionDenied, "role department may not call Verify",
        verify(WATER));
    t.row(rpc, "gateway role", PermissionDenied, "role gateway may not call Verify",
        verify(GATEWAY));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call Verify",
        verify(LIN_MING));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        verify(Auth::NoToken));
    t.row(rpc, "not a bearer header", Unauthenticated, "malformed authorization header",
        verify(NOT_BEARER));
}
