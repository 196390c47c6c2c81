//! Place cells: where an open case is filed (its micro-grid, a 1/1000° lat/lon cell of its
//! coordinates) and which cells a report must look in to see every case within
//! [`DUPLICATE_RADIUS_M`].

use gridcase_domain::{Coordinates, GridCode, GridLevel};

use super::DUPLICATE_RADIUS_M;

/// Area cells per degree of latitude or longitude: an area cell of the
/// duplicate index is 1/1000° square, about 111 m north–south and, in the
/// sample city (30° N), 96 m east–west, so the cells within
/// [`DUPLICATE_RADIUS_M`] of a point are 2×2 (at most 3×3) of them.
pub const CELLS_PER_DEGREE: f64 = 1000.0;

/// Columns around the globe: 360° of [`CELLS_PER_DEGREE`].
const COLUMNS: i64 = 360_000;

/// Rows from this latitude pole-ward (and from its negative southward) are one
/// cell each around the globe, so that near a pole, where a few metres span
/// many degrees of longitude, a lookup still visits a handful of cells.
const POLAR_LATITUDE: f64 = 89.0;

/// A sphere a little smaller than the one [`Coordinates::distance_m`] uses:
/// the angle [`DUPLICATE_RADIUS_M`] spans on it is a little larger, a margin
/// for rounding at cell edges.
const SMALL_EARTH_RADIUS_M: f64 = 6_300_000.0;

/// Where the duplicate index files an open case, and where a new report
/// looks: a micro-grid, or a cell of a fixed latitude/longitude grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlaceCell {
    /// Every case reported in this micro-grid.
    MicroGrid(GridCode),
    /// Every case with coordinates in this area cell: latitudes
    /// `row / CELLS_PER_DEGREE` up to the next row, longitudes likewise by
    /// `column` (0 for a polar row, which is one cell).
    Area {
        /// ⌊latitude × [`CELLS_PER_DEGREE`]⌋.
        row: i32,
        /// ⌊longitude × [`CELLS_PER_DEGREE`]⌋ modulo the columns around the globe, so
        /// 180° E and 180° W are one column.
        column: i32,
    },
}

impl PlaceCell {
    /// The micro-grid cell of `grid`, if it is a micro-grid.
    pub fn of_grid(grid: &GridCode) -> Option<Self> {
        (grid.level() == GridLevel::MicroGrid).then_some(PlaceCell::MicroGrid(*grid))
    }

    /// The area cell holding `point`.
    pub fn of_point(point: &Coordinates) -> Self {
        let row = row_of(point.lat());
        let column = if is_polar(row) {
            0
        } else {
            column_of(point.lon())
        };
        PlaceCell::Area { row, column }
    }
}

/// The row of latitude `lat` (or of a latitude just beyond a pole).
fn row_of(lat: f64) -> i32 {
    // |lat| ≤ 91 here, so the product fits an i32 comfortably.
    #[allow(clippy::cast_possible_truncation)]
    let row = (lat * CELLS_PER_DEGREE).floor() as i32;
    row
}

/// The column of longitude `lon`, any number of turns around.
fn column_of(lon: f64) -> i32 {
    // |lon| ≤ 360 here, and the remainder is below `COLUMNS`.
    #[allow(clippy::cast_possible_truncation)]
    let column = ((lon * CELLS_PER_DEGREE).floor() as i64).rem_euclid(COLUMNS) as i32;
    column
}

/// True for the rows that are one cell around the globe.
fn is_polar(row: i32) -> bool {
    // `POLAR_LATITUDE × CELLS_PER_DEGREE` is an integer: 89,000.
    #[allow(clippy::cast_possible_truncation)]
    let polar_row = (POLAR_LATITUDE * CELLS_PER_DEGREE) as i32;
    row >= polar_row || row < -polar_row
}

/// The cells an open case is filed under: its micro-grid, if it was reported
/// in one, and the area cell of its coordinates, if it has them. A case with
/// neither can never be a duplicate's original, so it needs no cell.
pub fn filing_cells(grid: Option<&GridCode>, coordinates: Option<&Coordinates>) -> Vec<PlaceCell> {
    grid.and_then(PlaceCell::of_grid)
        .into_iter()
        .chain(coordinates.map(PlaceCell::of_point))
        .collect()
}

/// The area cells that may hold a point within [`DUPLICATE_RADIUS_M`] of
/// `point`: those meeting a box around it, whose half-height is the radius's
/// angle and whose half-width is that angle widened for the convergence of
/// the meridians at the box's latitude farthest from the equator.
pub fn area_cells_near(point: &Coordinates) -> Vec<PlaceCell> {
    let angle = DUPLICATE_RADIUS_M / SMALL_EARTH_RADIUS_M;
    let half_height = angle.to_degrees();
    let (lat, lon) = (point.lat(), point.lon());
    let rows = row_of(lat - half_height)..=row_of(lat + half_height);
    // Only non-polar rows need columns: on them, the box's points are within 89° of the
    // equator, and so is the candidate, or it is within the radius of 89°.
    let farthest = (lat.abs() + half_height).min(POLAR_LATITUDE).max(lat.abs());
    // A point within the radius differs in longitude by at most this (the haversine's
    // second term, bounded with both latitudes at their farthest).
    let ratio = (angle / 2.0).sin() / farthest.to_radians().cos();
    let half_width = if ratio < 1.0 {
        (2.0 * ratio.asin()).to_degrees()
    } else {
        180.0
    };
    let first = ((lon - half_width) * CELLS_PER_DEGREE).floor();
    let last = ((lon + half_width) * CELLS_PER_DEGREE).floor();
    let mut cells = Vec::new();
    for row in rows {
        if is_polar(row) {
            cells.push(PlaceCell::Area { row, column: 0 });
        } else if last - first + 1.0 >= 360.0 * CELLS_PER_DEGREE {
            // Not for a point on Earth (the half-width is within 1.3° off the poles); kept
            // so the lookup stays right whatever the constants become.
            cells.extend((0..COLUMNS).map(|column| PlaceCell::Area {
                row,
                // `column` is below `COLUMNS`, which fits an i32.
                #[allow(clippy::cast_possible_truncation)]
                column: column as i32,
            }));
        } else {
            // `first` and `last` are within 181 turns of a column: they fit an i64.
            #[allow(clippy::cast_possible_truncation)]
            let columns = (first as i64)..=(last as i64);
            cells.extend(columns.map(|column| PlaceCell::Area {
                row,
                // Below `COLUMNS` after the remainder.
                #[allow(clippy::cast_possible_truncation)]
                column: column.rem_euclid(COLUMNS) as i32,
            }));
        }
    }
    cells
}

/// The cells a report at this place looks in for its duplicate: its
/// micro-grid, if it was reported in one, and the area cells near its
/// coordinates, if it has them. Every open case at the same place (see
/// [`find_duplicate`]) is filed under one of them.
pub fn search_cells(grid: Option<&GridCode>, coordinates: Option<&Coordinates>) -> Vec<PlaceCell> {
    let mut cells: Vec<PlaceCell> = grid.and_then(PlaceCell::of_grid).into_iter().collect();
    if let Some(point) = coordinates {
        cells.extend(area_cells_near(point));
    }
    cells
}
