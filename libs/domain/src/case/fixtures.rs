//! Commands and states the stage tests share: one case, reported at
//! [`REPORTED_AT`] in grid `330102-001-002-003`, walked along the loop with
//! [`step`] and [`run`].

use crate::case::{apply, decide, CaseState, Command};
use crate::error::DomainError;
use crate::event::Route;
use crate::values::{
    Assignee, CaseId, CategoryCode, Channel, Contact, DepartmentCode, Description, GridCode,
    Location, Note, PersonName, Phone, Priority, Reporter, Timestamp, TrackingCode, Url, WorkerId,
};

pub(crate) const REPORTED_AT: Timestamp = Timestamp::from_millis(1_700_000_000_000);
const HOUR: i64 = 3_600_000;
pub(crate) const CASE: CaseId = CaseId::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);

pub(crate) fn department(code: &str) -> DepartmentCode {
    DepartmentCode::parse(code).unwrap()
}

pub(crate) fn worker(id: &str) -> WorkerId {
    WorkerId::parse(id).unwrap()
}

pub(crate) fn note(text: &str) -> Note {
    Note::parse(text).unwrap()
}

pub(crate) fn grid(code: &str) -> GridCode {
    GridCode::parse(code).unwrap()
}

pub(crate) fn water() -> Assignee {
    Assignee::Department(department("water"))
}

pub(crate) fn roads() -> Assignee {
    Assignee::Department(department("roads"))
}

pub(crate) fn grid_worker() -> Assignee {
    Assignee::Worker(worker("li-si"))
}

pub(crate) fn at_hours(hours: i64) -> Timestamp {
    REPORTED_AT.plus_millis(hours * HOUR)
}

pub(crate) fn report() -> Command {
    Command::Report {
        case_id: CASE,
        tracking_code: TrackingCode::from_u64(424_242),
        channel: Channel::Hotline,
        reporter: Contact::clear(Reporter {
            name: Some(PersonName::parse("王五").unwrap()),
            phone: Some(Phone::parse("13812345678").unwrap()),
        }),
        location: Location::new(Some(grid("330102-001-002-003")), None, None).unwrap(),
        description: Description::parse("小区门口水管爆裂").unwrap(),
        category: None,
        media: vec![],
        reported_at: REPORTED_AT,
    }
}

pub(crate) fn triage(route: Route) -> Command {
    Command::Triage {
        category: CategoryCode::parse("SJ-05-03").unwrap(),
        priority: Priority::Urgent,
        route,
        triaged_by: Some(worker("operator-1")),
        model: None,
        priority_reason: None,
    }
}

pub(crate) fn to_department(code: &str) -> Route {
    Route::Department {
        department: department(code),
    }
}

pub(crate) fn dispatch(assignee: Assignee, participants: Vec<DepartmentCode>) -> Command {
    Command::Dispatch {
        assignee,
        participants,
        accept_deadline: Some(at_hours(2)),
        resolve_deadline: Some(at_hours(72)),
        report_in: None,
    }
}

pub(crate) fn accept(by: Assignee) -> Command {
    Command::Accept { by }
}

pub(crate) fn resolve(by: Assignee) -> Command {
    Command::Resolve {
        by,
        note: note("已更换水管"),
        evidence: vec![Url::parse("https://oss.example.cn/after.jpg").unwrap()],
    }
}

pub(crate) fn verify() -> Command {
    Command::Verify {
        by: worker("inspector"),
        note: None,
    }
}

pub(crate) fn rate(resolved: bool) -> Command {
    Command::RecordSatisfaction {
        resolved,
        satisfied: resolved,
        score: if resolved { 5 } else { 1 },
        comment: None,
    }
}

pub(crate) fn close() -> Command {
    Command::Close {
        by: Some(worker("operator-1")),
    }
}

pub(crate) fn postpone(until: Timestamp) -> Command {
    Command::RequestPostponement {
        by: water(),
        until,
        reason: note("等待配件"),
    }
}

/// Applies a command, panicking with the refusal if there is one.
pub(crate) fn step(state: CaseState, command: Command) -> CaseState {
    let events = decide(&state, command.clone())
        .unwrap_or_else(|error| panic!("{command:?} refused: {error}"));
    events.iter().fold(state, apply)
}

pub(crate) fn run(commands: impl IntoIterator<Item = Command>) -> CaseState {
    commands.into_iter().fold(CaseState::default(), step)
}

pub(crate) fn refusal(state: &CaseState, command: Command) -> DomainError {
    decide(state, command).expect_err("command should be refused")
}

pub(crate) fn reported() -> CaseState {
    run([report()])
}

pub(crate) fn triaged() -> CaseState {
    step(reported(), triage(to_department("water")))
}

pub(crate) fn dispatched() -> CaseState {
    step(triaged(), dispatch(water(), vec![]))
}

pub(crate) fn accepted() -> CaseState {
    step(dispatched(), accept(water()))
}

pub(crate) fn resolved() -> CaseState {
    step(accepted(), resolve(water()))
}

pub(crate) fn verified() -> CaseState {
    step(resolved(), verify())
}

pub(crate) fn closed() -> CaseState {
    step(step(verified(), rate(true)), close())
}
