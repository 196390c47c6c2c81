//! Service orders over gRPC (群众点单、社区派单、党员接单): the checks of each request, who may
//! make it, and the points the member earns when the resident confirms the order done.

use gridcase_auth::{Caller, Role, RoleKind};
use gridcase_casestore::ids::{command_id, stream_request_context};
use gridcase_casestore::CommandContext;
use gridcase_config::ReferenceData;
use gridcase_domain::people::{
    order_stream, AccountId, EarnReason, MemberKind, Order, OrderCommand, OrderPlaced, OrderStatus,
    PeopleError, PointsCommand, PointsSource,
};
use gridcase_domain::{GridCode, GridLevel, MemberId, Note, OrderId, Phone, ServiceCode};
use gridcase_eventstore::{EventStore, StoreError};
use gridcase_grpc::{ApiError, InvalidInput};
use gridcase_proto::people::v1 as pb;

use super::PeopleApi;
use gridcase_casestore::people::PeopleStoreError;

/// Who may place an order for a resident.
pub const PLACE_ROLES: &[RoleKind] = &[
    RoleKind::Operator,
    RoleKind::GridWorker,
    RoleKind::Community,
];
/// Who may dispatch an order: its community's office.
pub const DISPATCH_ROLES: &[RoleKind] = &[RoleKind::Community];
/// Who may accept and complete an order: the member it is given to.
pub const MEMBER_ROLES: &[RoleKind] = &[RoleKind::Member];
/// Who may confirm an order for the resident.
pub const CONFIRM_ROLES: &[RoleKind] = PLACE_ROLES;
/// Who may cancel an order.
pub const CANCEL_ROLES: &[RoleKind] = &[RoleKind::Operator, RoleKind::Community];
/// Who may read one order.
pub const GET_ROLES: &[RoleKind] = &[
    RoleKind::Community,
    RoleKind::Street,
    RoleKind::Supervisor,
    RoleKind::Admin,
    RoleKind::Operator,
    RoleKind::GridWorker,
    RoleKind::Member,
];
/// Who may list a community's orders.
pub const LIST_ROLES: &[RoleKind] = &[
    RoleKind::Community,
    RoleKind::Street,
    RoleKind::Supervisor,
    RoleKind::Admin,
];
/// Who may read the service list.
pub const SERVICES_ROLES: &[RoleKind] = GET_ROLES;

const HOUR_MS: i64 = 3_600_000;

fn order_id(text: &str) -> Result<OrderId, InvalidInput> {
    OrderId::parse(text.trim()).map_err(InvalidInput::at("order_id"))
}

fn note(field: &'static str, text: &str) -> Result<Note, InvalidInput> {
    Note::parse_field(field, text).map_err(InvalidInput::at(field))
}

fn phone(text: &str) -> Result<Phone, InvalidInput> {
    if text.trim().is_empty() {
        return Err(InvalidInput::new("resident_phone", "required"));
    }
    Phone::parse(text.trim()).map_err(InvalidInput::at("resident_phone"))
}

/// A placing request, checked on its own and against the reference data: the service and the
/// grid, with the deadlines of the service fixed from `at`.
pub fn placing(
    request: &pb::PlaceOrderRequest,
    reference: &ReferenceData,
    at: gridcase_domain::Timestamp,
) -> Result<(String, Phone, OrderPlaced), InvalidInput> {
    let request_id = gridcase_grpc::request_id("request_id", &request.request_id)?.to_owned();
    let code = ServiceCode::parse(request.service_code.trim())
        .map_err(InvalidInput::at("service_code"))?;
    let service = reference.care().services.get(&code).ok_or_else(|| {
        InvalidInput::new(
            "service_code",
            format!("{code} is not a service of the list"),
        )
    })?;
    let grid = GridCode::parse(request.grid_code.trim()).map_err(InvalidInput::at("grid_code"))?;
    if reference.grid(&grid).is_none() || grid.level() < GridLevel::Grid {
        return Err(InvalidInput::new(
            "grid_code",
            format!("{grid} is not a known grid or micro-grid"),
        ));
    }
    let community = grid
        .at_level(GridLevel::Community)
        .ok_or_else(|| InvalidInput::new("grid_code", "has no community"))?;
    let phone = phone(&request.resident_phone)?;
    let details = note("details", &request.details)?;
    let placed = OrderPlaced {
        service: code,
        grid,
        community,
        resident: 0,
        details,
        dispatch_due: at.plus_millis(i64::from(service.dispatch_within_hours) * HOUR_MS),
        complete_due: at.plus_millis(i64::from(service.complete_within_hours) * HOUR_MS),
        at,
    };
    Ok((request_id, phone, placed))
}

fn status_to_proto(status: OrderStatus) -> pb::OrderStatus {
    match status {
        OrderStatus::Placed => pb::OrderStatus::Placed,
        OrderStatus::Dispatched => pb::OrderStatus::Dispatched,
        OrderStatus::Accepted => pb::OrderStatus::Accepted,
        OrderStatus::Completed => pb::OrderStatus::Completed,
        OrderStatus::Confirmed => pb::OrderStatus::Confirmed,
        OrderStatus::Cancelled => pb::OrderStatus::Cancelled,
    }
}

/// An order as the API shows it, its deadlines judged at `now`.
pub fn order_reply(
    id: OrderId,
    order: &Order,
    reference: &ReferenceData,
    now: gridcase_domain::Timestamp,
) -> pb::Order {
    let placed = &order.placed;
    pb::Order {
        order_id: id.to_string(),
        status: status_to_proto(order.status) as i32,
        service_code: placed.service.to_string(),
        service_name: reference
            .care()
            .services
            .get(&placed.service)
            .map(|s| s.name.clone())
            .unwrap_or_default(),
        grid_code: placed.grid.to_string(),
        community_code: placed.community.to_string(),
        details: placed.details.to_string(),
        placed_at_ms: placed.at.as_millis(),
        dispatch_due_ms: placed.dispatch_due.as_millis(),
        complete_due_ms: placed.complete_due.as_millis(),
        member_id: order
            .member
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        dispatched_at_ms: order.dispatched_at.map_or(0, |t| t.as_millis()),
        accepted_at_ms: order.accepted_at.map_or(0, |t| t.as_millis()),
        completed_at_ms: order.completed.as_ref().map_or(0, |(t, _)| t.as_millis()),
        completion_note: order
            .completed
            .as_ref()
            .map(|(_, n)| n.to_string())
            .unwrap_or_default(),
        rating: order.confirmed.as_ref().map_or(0, |c| u32::from(c.rating)),
        comment: order
            .confirmed
            .as_ref()
            .and_then(|c| c.comment.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default(),
        cancel_reason: order
            .cancelled
            .as_ref()
            .map(|c| c.reason.to_string())
            .unwrap_or_default(),
        dispatch_overdue: order.dispatch_overdue(now),
        completion_overdue: order.completion_overdue(now),
    }
}

fn caller_community(caller: &Caller) -> Result<Option<GridCode>, ApiError> {
    match &caller.role {
        Role::Community(own) => GridCode::parse(own)
            .map(Some)
            .map_err(|e| ApiError::Internal(format!("caller's community: {e}"))),
        _ => Ok(None),
    }
}

fn caller_member(caller: &Caller) -> Result<MemberId, ApiError> {
    match &caller.role {
        Role::Member(own) => MemberId::parse(own).map_err(|e| ApiError::Internal(e.to_string())),
        other => Err(ApiError::PermissionDenied(format!(
            "{other} is not a member; only the member an order is given to acts on it"
        ))),
    }
}

impl<S: EventStore> PeopleApi<S> {
    fn context(
        &self,
        caller: &Caller,
        what: &str,
        request_id: &str,
        order: OrderId,
    ) -> CommandContext {
        stream_request_context(
            crate::SERVICE,
            request_id,
            &order_stream(order),
            what,
            caller.actor(),
        )
    }

    async fn run_order(
        &self,
        order: OrderId,
        command: OrderCommand,
        context: &CommandContext,
    ) -> Result<pb::OrderReply, ApiError> {
        let (executed, folded) = self.people.execute_order(order, command, context).await?;
        Ok(pb::OrderReply {
            order: Some(order_reply(
                order,
                &folded,
                &self.reference,
                gridcase_runtime::now(),
            )),
            repeated: executed.repeated,
        })
    }

    async fn existing_order(&self, order: OrderId) -> Result<Order, ApiError> {
        self.people
            .order(order)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("order_id: no order {order}")))
    }

    fn same_community(caller: &Caller, order: &Order) -> Result<(), ApiError> {
        if let Some(own) = caller_community(caller)? {
            if own != order.placed.community {
                return Err(ApiError::PermissionDenied(format!(
                    "order_id: the order belongs to community {}, not {own}",
                    order.placed.community
                )));
            }
        }
        Ok(())
    }

    pub(super) async fn place_order(
        &self,
        caller: &Caller,
        request: pb::PlaceOrderRequest,
    ) -> Result<pb::OrderReply, ApiError> {
        let (request_id, phone, mut placed) =
            placing(&request, &self.reference, gridcase_runtime::now())?;
        if let Some(own) = caller_community(caller)? {
            if own != placed.community {
                return Err(ApiError::PermissionDenied(format!(
                    "grid_code: community {own} takes orders of its own grids only, not of {}",
                    placed.community
                )));
            }
        }
        placed.resident = self
            .vault
            .account_key(&phone)
            .await
            .map_err(|e| StoreError::Unavailable(format!("key vault: {e}")))?;
        let actor = caller.actor();
        let order = OrderId::from_u128(command_id(
            crate::SERVICE,
            &[b"order", request_id.as_bytes(), actor.as_bytes()],
        ));
        let context = self.context(caller, "place", &request_id, order);
        let reply = self
            .run_order(order, OrderCommand::Place(placed), &context)
            .await?;
        tracing::info!(%order, repeated = reply.repeated, "service order placed");
        Ok(reply)
    }

    pub(super) async fn dispatch_order(
        &self,
        caller: &Caller,
        request: pb::DispatchOrderRequest,
    ) -> Result<pb::OrderReply, ApiError> {
        let request_id = gridcase_grpc::request_id("request_id", &request.request_id)?.to_owned();
        let id = order_id(&request.order_id)?;
        let member =
            MemberId::parse(request.member_id.trim()).map_err(InvalidInput::at("member_id"))?;
        let order = self.existing_order(id).await?;
        Self::same_community(caller, &order)?;
        let enrolled = self.find_member(&member).await?.ok_or_else(|| {
            ApiError::NotFound(format!("member_id: no member {member} is enrolled"))
        })?;
        if !matches!(
            enrolled.kind,
            MemberKind::PartyMember | MemberKind::Volunteer
        ) {
            return Err(ApiError::refused(
                "member_id",
                format!(
                    "{member} is a {}; orders go to party members and volunteers",
                    enrolled.kind.label()
                ),
            ));
        }
        if enrolled.community != order.placed.community {
            return Err(ApiError::refused(
                "member_id",
                format!(
                    "{member} serves community {}, not the order's {}",
                    enrolled.community, order.placed.community
                ),
            ));
        }
        let context = self.context(caller, "dispatch", &request_id, id);
        let command = OrderCommand::Dispatch {
            member,
            at: gridcase_runtime::now(),
        };
        self.run_order(id, command, &context).await
    }

    pub(super) async fn accept_order(
        &self,
        caller: &Caller,
        request: pb::OrderActionRequest,
    ) -> Result<pb::OrderReply, ApiError> {
        let request_id = gridcase_grpc::request_id("request_id", &request.request_id)?.to_owned();
        let id = order_id(&request.order_id)?;
        let member = caller_member(caller)?;
        self.existing_order(id).await?;
        let context = self.context(caller, "accept", &request_id, id);
        let command = OrderCommand::Accept {
            member,
            at: gridcase_runtime::now(),
        };
        self.run_order(id, command, &context).await
    }

    pub(super) async fn complete_order(
        &self,
        caller: &Caller,
        request: pb::CompleteOrderRequest,
    ) -> Result<pb::OrderReply, ApiError> {
        let request_id = gridcase_grpc::request_id("request_id", &request.request_id)?.to_owned();
        let id = order_id(&request.order_id)?;
        let note = note("note", &request.note)?;
        let member = caller_member(caller)?;
        self.existing_order(id).await?;
        let context = self.context(caller, "complete", &request_id, id);
        let command = OrderCommand::Complete {
            member,
            note,
            at: gridcase_runtime::now(),
        };
        self.run_order(id, command, &context).await
    }

    /// Records the resident's confirmation, then credits the member: a retry of the same
    /// request finds the confirmation recorded and credits what a failed first try did not.
    pub(super) async fn confirm_order(
        &self,
        caller: &Caller,
        request: pb::ConfirmOrderRequest,
    ) -> Result<pb::OrderReply, ApiError> {
        let request_id = gridcase_grpc::request_id("request_id", &request.request_id)?.to_owned();
        let id = order_id(&request.order_id)?;
        let phone = phone(&request.resident_phone)?;
        let rating = u8::try_from(request.rating)
            .ok()
            .filter(|r| (1..=5).contains(r))
            .ok_or_else(|| InvalidInput::new("rating", "must be 1 to 5"))?;
        let comment = match request.comment.trim() {
            "" => None,
            text => Some(note("comment", text)?),
        };
        let order = self.existing_order(id).await?;
        Self::same_community(caller, &order)?;
        let resident = self
            .vault
            .account_key(&phone)
            .await
            .map_err(|e| StoreError::Unavailable(format!("key vault: {e}")))?;
        let context = self.context(caller, "confirm", &request_id, id);
        let now = gridcase_runtime::now();
        let command = OrderCommand::Confirm {
            resident,
            rating,
            comment,
            at: now,
        };
        let reply = self.run_order(id, command, &context).await?;
        let Some(member) = order.member.clone() else {
            return Ok(reply);
        };
        let points = self
            .reference
            .points()
            .points_for(EarnReason::OrderCompleted);
        if points > 0 {
            let account = AccountId::Member(member);
            let credit = self.context(caller, "order-points", &request_id, id);
            let earn = PointsCommand::Earn {
                reason: EarnReason::OrderCompleted,
                points,
                source: PointsSource::Order(id),
                at: now,
            };
            match self.people.execute_points(&account, earn, &credit).await {
                Ok(_) | Err(PeopleStoreError::People(PeopleError::AlreadyEarned { .. })) => {}
                Err(e) => return Err(e.into()),
            }
            tracing::info!(order = %id, %account, points, "points earned for a service order");
        }
        Ok(reply)
    }

    pub(super) async fn cancel_order(
        &self,
        caller: &Caller,
        request: pb::CancelOrderRequest,
    ) -> Result<pb::OrderReply, ApiError> {
        let request_id = gridcase_grpc::request_id("request_id", &request.request_id)?.to_owned();
        let id = order_id(&request.order_id)?;
        let reason = note("reason", &request.reason)?;
        let order = self.existing_order(id).await?;
        Self::same_community(caller, &order)?;
        let context = self.context(caller, "cancel", &request_id, id);
        let command = OrderCommand::Cancel {
            reason,
            at: gridcase_runtime::now(),
        };
        self.run_order(id, command, &context).await
    }

    pub(super) async fn get_order(
        &self,
        caller: &Caller,
        request: pb::GetOrderRequest,
    ) -> Result<pb::Order, ApiError> {
        let id = order_id(&request.order_id)?;
        let order = self.existing_order(id).await?;
        Self::same_community(caller, &order)?;
        if let Role::Member(own) = &caller.role {
            if order.member.as_ref().map(MemberId::as_str) != Some(own.as_str()) {
                return Err(ApiError::PermissionDenied(format!(
                    "order_id: the order is not given to member {own}"
                )));
            }
        }
        Ok(order_reply(
            id,
            &order,
            &self.reference,
            gridcase_runtime::now(),
        ))
    }

    pub(super) async fn list_orders(
        &self,
        caller: &Caller,
        request: pb::ListOrdersRequest,
    ) -> Result<pb::ListOrdersResponse, ApiError> {
        let community = self.community_named(caller, &request.community_code)?;
        self.wait_for_model().await?;
        let now = gridcase_runtime::now();
        let mut orders: Vec<pb::Order> = self
            .model
            .orders_of(&community)?
            .iter()
            .map(|(id, order)| order_reply(*id, order, &self.reference, now))
            .collect();
        orders.sort_by(|a, b| (b.placed_at_ms, &b.order_id).cmp(&(a.placed_at_ms, &a.order_id)));
        Ok(pb::ListOrdersResponse { orders })
    }
}
