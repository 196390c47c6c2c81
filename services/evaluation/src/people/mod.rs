//! The gRPC `People` service: the registry of special grid members and volunteers, and the
//! points accounts with their exchange in the community's points shop. Points are earned from
//! the case feed ([`credit`]); the registry's enrolments and the accounts' totals are kept with
//! the indicators ([`model`]).

pub mod credit;
pub mod model;
pub mod orders;

use std::sync::Arc;

use gridcase_auth::{require, Authenticator, Caller, Role, RoleKind, TokenTable};
use gridcase_casestore::ids::command_id;
use gridcase_casestore::people::{LoadedStream, PeopleStore};
use gridcase_casestore::{CaseStore, CommandContext};
use gridcase_config::ReferenceData;
use gridcase_domain::people::{
    Account, AccountId, MemberEnrolled, MemberKind, PeopleError, PeopleEvent, PointsCommand,
    PointsSource,
};
use gridcase_domain::{CaseId, GridCode, GridLevel, MemberId, Note, PersonName, Phone};
use gridcase_eventstore::{EventStore, StoreError};
use gridcase_grpc::{ApiError, InvalidInput};
use gridcase_privacy::Vault;
use gridcase_proto::people::v1 as pb;
use gridcase_proto::people::v1::people_server::{People, PeopleServer};
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};

use crate::indicators::IndicatorModel;
use crate::service::INDICATOR_PATIENCE;

/// The fully qualified gRPC service name, for health reporting.
pub const SERVICE_NAME: &str = "gridcase.people.v1.People";

/// Who may enrol a member: the community office of the member's grids, and administrators.
pub const ENROL_ROLES: &[RoleKind] = &[RoleKind::Community, RoleKind::Admin];
/// Who may list a community's members.
pub const LIST_MEMBERS_ROLES: &[RoleKind] = &[
    RoleKind::Community,
    RoleKind::Street,
    RoleKind::Supervisor,
    RoleKind::Admin,
];
/// Who may read an account: the offices, supervisors, administrators, a member their own, and
/// the QR gateway a case's reporter's (for their private page).
pub const GET_ACCOUNT_ROLES: &[RoleKind] = &[
    RoleKind::Community,
    RoleKind::Street,
    RoleKind::Supervisor,
    RoleKind::Admin,
    RoleKind::Member,
    RoleKind::Gateway,
];
/// Who may read the shop's items.
pub const LIST_SHOP_ROLES: &[RoleKind] = &[
    RoleKind::Community,
    RoleKind::Street,
    RoleKind::Supervisor,
    RoleKind::Admin,
    RoleKind::Member,
    RoleKind::Operator,
];
/// Who may exchange points: the community office that runs the shop.
pub const EXCHANGE_ROLES: &[RoleKind] = &[RoleKind::Community];

/// The People API on the store.
#[derive(Debug)]
pub struct PeopleApi<S> {
    people: PeopleStore<S>,
    store: S,
    reference: Arc<ReferenceData>,
    model: Arc<IndicatorModel>,
    vault: Vault,
}

/// The People service, to add to the evaluation's routes.
pub fn server<S: EventStore>(
    store: S,
    reference: Arc<ReferenceData>,
    model: Arc<IndicatorModel>,
    vault: Vault,
    tokens: Arc<TokenTable>,
) -> InterceptedService<PeopleServer<PeopleApi<S>>, Authenticator> {
    PeopleServer::with_interceptor(
        PeopleApi {
            people: PeopleStore::new(store.clone()),
            store,
            reference,
            model,
            vault,
        },
        Authenticator::new(tokens),
    )
}

fn refused(error: ApiError) -> Status {
    tracing::info!(error = %error, "request refused");
    Status::from(error)
}

/// The kind of `value`, which must be set.
pub fn member_kind(value: i32) -> Result<MemberKind, InvalidInput> {
    match pb::MemberKind::try_from(value) {
        Ok(pb::MemberKind::Courier) => Ok(MemberKind::Courier),
        Ok(pb::MemberKind::RideHailingDriver) => Ok(MemberKind::RideHailingDriver),
        Ok(pb::MemberKind::DeliveryRider) => Ok(MemberKind::DeliveryRider),
        Ok(pb::MemberKind::BuildingHead) => Ok(MemberKind::BuildingHead),
        Ok(pb::MemberKind::Volunteer) => Ok(MemberKind::Volunteer),
        Ok(pb::MemberKind::PartyMember) => Ok(MemberKind::PartyMember),
        Ok(pb::MemberKind::Unspecified) => Err(InvalidInput::new(
            "kind",
            "must be set (courier, ride_hailing_driver, delivery_rider, building_head, volunteer or party_member)",
        )),
        Err(_) => Err(InvalidInput::new(
            "kind",
            format!("{value} is not a member kind"),
        )),
    }
}

fn kind_to_proto(kind: MemberKind) -> pb::MemberKind {
    match kind {
        MemberKind::Courier => pb::MemberKind::Courier,
        MemberKind::RideHailingDriver => pb::MemberKind::RideHailingDriver,
        MemberKind::DeliveryRider => pb::MemberKind::DeliveryRider,
        MemberKind::BuildingHead => pb::MemberKind::BuildingHead,
        MemberKind::Volunteer => pb::MemberKind::Volunteer,
        MemberKind::PartyMember => pb::MemberKind::PartyMember,
    }
}

/// An enrolment request, checked on its own and against the reference data: its grids are
/// known grids or micro-grids of one community.
pub fn enrolment(
    request: &pb::EnrolMemberRequest,
    reference: &ReferenceData,
    at: gridcase_domain::Timestamp,
) -> Result<(String, MemberId, MemberEnrolled), InvalidInput> {
    let request_id = gridcase_grpc::request_id("request_id", &request.request_id)?.to_owned();
    let member =
        MemberId::parse(request.member_id.trim()).map_err(InvalidInput::at("member_id"))?;
    let kind = member_kind(request.kind)?;
    let name = PersonName::parse(&request.name).map_err(InvalidInput::at("name"))?;
    if request.grid_codes.is_empty() {
        return Err(InvalidInput::new(
            "grid_codes",
            "a member serves at least one grid",
        ));
    }
    let mut grids: Vec<GridCode> = Vec::new();
    for (index, text) in request.grid_codes.iter().enumerate() {
        let field = format!("grid_codes[{index}]");
        let code = GridCode::parse(text.trim()).map_err(InvalidInput::at(field.clone()))?;
        if reference.grid(&code).is_none() {
            return Err(InvalidInput::new(
                field,
                format!("{code} is not a known grid"),
            ));
        }
        if code.level() < GridLevel::Grid {
            return Err(InvalidInput::new(
                field,
                format!(
                    "{code} is a {}, not a grid or micro-grid",
                    code.level().as_str()
                ),
            ));
        }
        if grids.contains(&code) {
            return Err(InvalidInput::new(field, format!("{code} is listed twice")));
        }
        grids.push(code);
    }
    let community = grids[0]
        .at_level(GridLevel::Community)
        .ok_or_else(|| InvalidInput::new("grid_codes[0]", "has no community"))?;
    if let Some((index, other)) = grids
        .iter()
        .enumerate()
        .find(|(_, code)| !code.is_within(&community))
    {
        return Err(InvalidInput::new(
            format!("grid_codes[{index}]"),
            format!("{other} is not in community {community}, as grid_codes[0] is"),
        ));
    }
    Ok((
        request_id,
        member,
        MemberEnrolled {
            kind,
            name,
            community,
            grids,
            at,
        },
    ))
}

/// Whose account a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A special member's or volunteer's.
    Member(MemberId),
    /// A resident's, by the phone number they report with.
    Resident(Phone),
    /// Whoever reported this case: its member, or its resident.
    ReporterOf(CaseId),
}

/// The owner a request names, checked: exactly one of a member id, a resident's phone and a
/// case whose reporter it is.
pub fn owner(owner: Option<&pb::AccountOwner>) -> Result<Owner, InvalidInput> {
    let owner = owner.ok_or_else(|| InvalidInput::new("owner", "required"))?;
    let member = owner.member_id.trim();
    let phone = owner.resident_phone.trim();
    let case = owner.reporter_of_case.trim();
    match (member.is_empty(), phone.is_empty(), case.is_empty()) {
        (false, true, true) => MemberId::parse(member)
            .map(Owner::Member)
            .map_err(InvalidInput::at("owner.member_id")),
        (true, false, true) => Phone::parse(phone)
            .map(Owner::Resident)
            .map_err(InvalidInput::at("owner.resident_phone")),
        (true, true, false) => CaseId::parse(case)
            .map(Owner::ReporterOf)
            .map_err(InvalidInput::at("owner.reporter_of_case")),
        _ => Err(InvalidInput::new(
            "owner",
            "name exactly one of member_id, resident_phone and reporter_of_case",
        )),
    }
}

/// The item an exchange asks for and its price, checked against the shop of `reference`.
pub fn shop_item(
    request: &pb::ExchangePointsRequest,
    reference: &ReferenceData,
) -> Result<(Note, u32), InvalidInput> {
    let name = request.item.trim();
    if name.is_empty() {
        return Err(InvalidInput::new("item", "must not be empty"));
    }
    let price = *reference.points().shop.get(name).ok_or_else(|| {
        InvalidInput::new(
            "item",
            format!("{name:?} is not an item of the points shop"),
        )
    })?;
    let item = Note::parse_field("item", name).map_err(InvalidInput::at("item"))?;
    Ok((item, price))
}

impl<S: EventStore> PeopleApi<S> {
    /// The member `member`: from the reference data, or enrolled in the store.
    async fn find_member(&self, member: &MemberId) -> Result<Option<MemberEnrolled>, ApiError> {
        if let Some(listed) = self.reference.member(member) {
            return Ok(Some(MemberEnrolled {
                kind: listed.kind,
                name: listed.name.clone(),
                community: listed.community,
                grids: listed.grids.clone(),
                at: gridcase_domain::Timestamp::from_millis(0),
            }));
        }
        Ok(self.people.member(member).await?)
    }

    /// The account `owner` names: a known member's, or a resident's by their phone.
    async fn account_of(
        &self,
        owner_field: Option<&pb::AccountOwner>,
    ) -> Result<(AccountId, Option<MemberEnrolled>), ApiError> {
        self.account_of_owner(owner(owner_field)?).await
    }

    async fn account_of_owner(
        &self,
        owner: Owner,
    ) -> Result<(AccountId, Option<MemberEnrolled>), ApiError> {
        match owner {
            Owner::ReporterOf(case) => {
                let loaded = CaseStore::new(self.store.clone()).load(case).await?;
                if loaded.version.is_none() {
                    return Err(ApiError::NotFound(format!(
                        "owner.reporter_of_case: no case {case}"
                    )));
                }
                let account = credit::reporter_account(&loaded).ok_or_else(|| {
                    ApiError::NotFound(format!(
                        "owner.reporter_of_case: the reporter of case {case} left no phone and has no account"
                    ))
                })?;
                Ok((account, None))
            }
            Owner::Member(id) => {
                let enrolled = self.find_member(&id).await?.ok_or_else(|| {
                    ApiError::NotFound(format!("owner.member_id: no member {id} is enrolled"))
                })?;
                Ok((AccountId::Member(id), Some(enrolled)))
            }
            Owner::Resident(phone) => {
                let key = self
                    .vault
                    .account_key(&phone)
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("key vault: {e}")))?;
                Ok((AccountId::Resident(key), None))
            }
        }
    }

    async fn wait_for_model(&self) -> Result<(), ApiError> {
        let heads = self.store.heads().await?;
        if !self.model.wait_for(&heads, INDICATOR_PATIENCE).await {
            return Err(StoreError::Unavailable(format!(
                "the people model is still reading the log up to {heads:?}; try again shortly"
            ))
            .into());
        }
        Ok(())
    }

    async fn enrol(
        &self,
        caller: &Caller,
        request: pb::EnrolMemberRequest,
    ) -> Result<pb::Member, ApiError> {
        let (request_id, member, enrolled) =
            enrolment(&request, &self.reference, gridcase_runtime::now())?;
        if let Role::Community(code) = &caller.role {
            if *code != enrolled.community.to_string() {
                return Err(ApiError::PermissionDenied(format!(
                    "grid_codes: community {code} may enrol members of its own grids only, not of {}",
                    enrolled.community
                )));
            }
        }
        if self.reference.member(&member).is_some() {
            return Err(ApiError::from(
                gridcase_casestore::people::PeopleStoreError::People(
                    PeopleError::AlreadyEnrolled {
                        member: member.to_string(),
                    },
                ),
            ));
        }
        let actor = caller.actor();
        let context = CommandContext::new(
            command_id(
                crate::SERVICE,
                &[b"enrol", request_id.as_bytes(), actor.as_bytes()],
            ),
            actor,
        );
        let executed = self.people.enrol(&member, enrolled, &context).await?;
        let Some(PeopleEvent::MemberEnrolled(enrolled)) = executed.events.first() else {
            return Err(ApiError::Internal(format!(
                "member {member}: no enrolment recorded"
            )));
        };
        tracing::info!(%member, community = %enrolled.community, repeated = executed.repeated, "member enrolled");
        Ok(member_reply(&member, enrolled, false))
    }

    /// The community a listing names (empty: the calling office's own), checked to exist and
    /// to be the caller's to read: a community office reads its own, a street office those of
    /// its street.
    fn community_named(&self, caller: &Caller, named: &str) -> Result<GridCode, ApiError> {
        let named = named.trim();
        let community = match (named.is_empty(), &caller.role) {
            (true, Role::Community(own)) => GridCode::parse(own)
                .map_err(|e| ApiError::Internal(format!("caller's community: {e}")))?,
            (true, _) => {
                return Err(InvalidInput::new("community_code", "name the community").into())
            }
            (false, _) => GridCode::parse(named).map_err(InvalidInput::at("community_code"))?,
        };
        if community.level() != GridLevel::Community || self.reference.grid(&community).is_none() {
            return Err(InvalidInput::new(
                "community_code",
                format!("{community} is not a known community"),
            )
            .into());
        }
        let allowed = match &caller.role {
            Role::Community(own) => *own == community.to_string(),
            Role::Street(street) => GridCode::parse(street).is_ok_and(|s| community.is_within(&s)),
            _ => true,
        };
        if !allowed {
            return Err(ApiError::PermissionDenied(format!(
                "community_code: {} may not read community {community}",
                caller.role
            )));
        }
        Ok(community)
    }

    async fn list_members(
        &self,
        caller: &Caller,
        request: pb::ListMembersRequest,
    ) -> Result<pb::ListMembersResponse, ApiError> {
        let community = self.community_named(caller, &request.community_code)?;
        self.wait_for_model().await?;
        let mut members: Vec<pb::Member> = self
            .reference
            .members()
            .filter(|m| m.community == community)
            .map(|m| {
                member_reply(
                    &m.id,
                    &MemberEnrolled {
                        kind: m.kind,
                        name: m.name.clone(),
                        community: m.community,
                        grids: m.grids.clone(),
                        at: gridcase_domain::Timestamp::from_millis(0),
                    },
                    true,
                )
            })
            .collect();
        for (id, enrolled) in self.model.members_of(&community)? {
            members.push(member_reply(&id, &enrolled, false));
        }
        members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
        Ok(pb::ListMembersResponse { members })
    }

    async fn get_account(
        &self,
        caller: &Caller,
        request: pb::GetAccountRequest,
    ) -> Result<pb::Account, ApiError> {
        let owner = owner(request.owner.as_ref())?;
        if caller.role == Role::Gateway && !matches!(owner, Owner::ReporterOf(_)) {
            return Err(ApiError::PermissionDenied(
                "owner: the QR gateway reads a case's reporter's account only (reporter_of_case)"
                    .into(),
            ));
        }
        let (account, _) = self.account_of_owner(owner).await?;
        if let Role::Member(own) = &caller.role {
            if account
                != AccountId::Member(
                    MemberId::parse(own).map_err(|e| ApiError::Internal(e.to_string()))?,
                )
            {
                return Err(ApiError::PermissionDenied(format!(
                    "owner: member {own} may read their own account only"
                )));
            }
        }
        let (folded, loaded) = self.people.account(&account).await?;
        Ok(account_reply(&account, &folded, &loaded))
    }

    async fn exchange(
        &self,
        caller: &Caller,
        request: pb::ExchangePointsRequest,
    ) -> Result<pb::ExchangePointsResponse, ApiError> {
        let request_id = gridcase_grpc::request_id("request_id", &request.request_id)?.to_owned();
        let (item, price) = shop_item(&request, &self.reference)?;
        let (account, member) = self.account_of(request.owner.as_ref()).await?;
        let Role::Community(own) = &caller.role else {
            return Err(ApiError::PermissionDenied(
                "only a community office runs a points shop".into(),
            ));
        };
        let community = GridCode::parse(own)
            .map_err(|e| ApiError::Internal(format!("caller's community: {e}")))?;
        if let Some(member) = &member {
            if member.community != community {
                return Err(ApiError::PermissionDenied(format!(
                    "owner.member_id: the member belongs to community {}, not {community}",
                    member.community
                )));
            }
        }
        let actor = caller.actor();
        let account_text = account.to_string();
        let context = CommandContext::new(
            command_id(
                crate::SERVICE,
                &[
                    b"exchange",
                    request_id.as_bytes(),
                    actor.as_bytes(),
                    account_text.as_bytes(),
                ],
            ),
            actor,
        );
        let command = PointsCommand::Exchange {
            item,
            points: price,
            community,
            at: gridcase_runtime::now(),
        };
        let executed = self
            .people
            .execute_points(&account, command, &context)
            .await?;
        tracing::info!(%account, points = price, item = %request.item.trim(), repeated = executed.repeated, "points exchanged");
        let (folded, loaded) = self.people.account(&account).await?;
        Ok(pb::ExchangePointsResponse {
            account: Some(account_reply(&account, &folded, &loaded)),
            already_exchanged: executed.repeated,
        })
    }
}

fn member_reply(id: &MemberId, enrolled: &MemberEnrolled, from_reference_data: bool) -> pb::Member {
    pb::Member {
        member_id: id.to_string(),
        kind: kind_to_proto(enrolled.kind) as i32,
        name: enrolled.name.to_string(),
        community_code: enrolled.community.to_string(),
        grid_codes: enrolled.grids.iter().map(ToString::to_string).collect(),
        enrolled_at_ms: if from_reference_data {
            0
        } else {
            enrolled.at.as_millis()
        },
        from_reference_data,
    }
}

/// An account as the API shows it.
pub fn account_reply(account: &AccountId, folded: &Account, loaded: &LoadedStream) -> pb::Account {
    let entries = loaded
        .entries
        .iter()
        .map(|entry| {
            let mut reply = pb::AccountEntry {
                at_ms: entry.recorded_at_ms,
                actor: entry.actor.clone().unwrap_or_default(),
                position: entry.position,
                ..Default::default()
            };
            match &entry.event {
                PeopleEvent::PointsEarned(earned) => {
                    reply.points = i64::from(earned.points);
                    reply.reason = earned.reason.as_str().to_owned();
                    match earned.source {
                        PointsSource::Case(case) => reply.case_id = case.to_string(),
                        PointsSource::Order(order) => reply.order_id = order.to_string(),
                        PointsSource::Visit(household, _) => {
                            reply.household_id = household.to_string();
                        }
                    }
                }
                PeopleEvent::PointsExchanged(exchanged) => {
                    reply.points = -i64::from(exchanged.points);
                    reply.reason = "exchange".to_owned();
                    reply.item = exchanged.item.to_string();
                    reply.community_code = exchanged.community.to_string();
                }
                _ => {}
            }
            reply
        })
        .collect();
    pb::Account {
        account_id: account.to_string(),
        balance: folded.balance,
        earned: folded.earned,
        spent: folded.spent,
        entries,
    }
}

#[tonic::async_trait]
impl<S: EventStore> People for PeopleApi<S> {
    #[tracing::instrument(skip_all)]
    async fn enrol_member(
        &self,
        request: Request<pb::EnrolMemberRequest>,
    ) -> Result<Response<pb::Member>, Status> {
        let caller = require(&request, "EnrolMember", ENROL_ROLES)?.clone();
        Ok(Response::new(
            self.enrol(&caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let caller = require(&request, "ListMembers", LIST_MEMBERS_ROLES)?.clone();
        Ok(Response::new(
            PeopleApi::list_members(self, &caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        let caller = require(&request, "GetAccount", GET_ACCOUNT_ROLES)?.clone();
        Ok(Response::new(
            PeopleApi::get_account(self, &caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_shop_items(
        &self,
        request: Request<pb::ListShopItemsRequest>,
    ) -> Result<Response<pb::ListShopItemsResponse>, Status> {
        require(&request, "ListShopItems", LIST_SHOP_ROLES)?;
        let items = self
            .reference
            .points()
            .shop
            .iter()
            .map(|(name, points)| pb::ShopItem {
                name: name.clone(),
                points: *points,
            })
            .collect();
        Ok(Response::new(pb::ListShopItemsResponse { items }))
    }

    #[tracing::instrument(skip_all)]
    async fn exchange_points(
        &self,
        request: Request<pb::ExchangePointsRequest>,
    ) -> Result<Response<pb::ExchangePointsResponse>, Status> {
        let caller = require(&request, "ExchangePoints", EXCHANGE_ROLES)?.clone();
        Ok(Response::new(
            self.exchange(&caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn list_services(
        &self,
        request: Request<pb::ListServicesRequest>,
    ) -> Result<Response<pb::ListServicesResponse>, Status> {
        require(&request, "ListServices", orders::SERVICES_ROLES)?;
        let services = self
            .reference
            .care()
            .services
            .values()
            .map(|s| pb::Service {
                code: s.code.to_string(),
                name: s.name.clone(),
                dispatch_within_hours: s.dispatch_within_hours,
                complete_within_hours: s.complete_within_hours,
            })
            .collect();
        Ok(Response::new(pb::ListServicesResponse { services }))
    }

    #[tracing::instrument(skip_all)]
    async fn place_order(
        &self,
        request: Request<pb::PlaceOrderRequest>,
    ) -> Result<Response<pb::OrderReply>, Status> {
        let caller = require(&request, "PlaceOrder", orders::PLACE_ROLES)?.clone();
        Ok(Response::new(
            PeopleApi::place_order(self, &caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn dispatch_order(
        &self,
        request: Request<pb::DispatchOrderRequest>,
    ) -> Result<Response<pb::OrderReply>, Status> {
        let caller = require(&request, "DispatchOrder", orders::DISPATCH_ROLES)?.clone();
        Ok(Response::new(
            PeopleApi::dispatch_order(self, &caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn accept_order(
        &self,
        request: Request<pb::OrderActionRequest>,
    ) -> Result<Response<pb::OrderReply>, Status> {
        let caller = require(&request, "AcceptOrder", orders::MEMBER_ROLES)?.clone();
        Ok(Response::new(
            PeopleApi::accept_order(self, &caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn complete_order(
        &self,
        request: Request<pb::CompleteOrderRequest>,
    ) -> Result<Response<pb::OrderReply>, Status> {
        let caller = require(&request, "CompleteOrder", orders::MEMBER_ROLES)?.clone();
        Ok(Response::new(
            PeopleApi::complete_order(self, &caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn confirm_order(
        &self,
        request: Request<pb::ConfirmOrderRequest>,
    ) -> Result<Response<pb::OrderReply>, Status> {
        let caller = require(&request, "ConfirmOrder", orders::CONFIRM_ROLES)?.clone();
        Ok(Response::new(
            PeopleApi::confirm_order(self, &caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn cancel_order(
        &self,
        request: Request<pb::CancelOrderRequest>,
    ) -> Result<Response<pb::OrderReply>, Status> {
        let caller = require(&request, "CancelOrder", orders::CANCEL_ROLES)?.clone();
        Ok(Response::new(
            PeopleApi::cancel_order(self, &caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_order(
        &self,
        request: Request<pb::GetOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let caller = require(&request, "GetOrder", orders::GET_ROLES)?.clone();
        Ok(Response::new(
            PeopleApi::get_order(self, &caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_orders(
        &self,
        request: Request<pb::ListOrdersRequest>,
    ) -> Result<Response<pb::ListOrdersResponse>, Status> {
        let caller = require(&request, "ListOrders", orders::LIST_ROLES)?.clone();
        Ok(Response::new(
            PeopleApi::list_orders(self, &caller, request.into_inner())
                .await
                .map_err(refused)?,
        ))
    }
}
