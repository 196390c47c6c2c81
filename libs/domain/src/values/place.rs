//! Where a problem is.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::grid::GridCode;
use super::text::Address;
use super::validation::ValidationError;

/// Mean Earth radius (IUGG), good to about 0.5% for haversine distances.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A WGS-84 or GCJ-02 point as the reporting device gave it; the domain
/// does not convert between datums, it only compares nearby points.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCoordinates")]
pub struct Coordinates {
    lat: f64,
    lon: f64,
}

/// The unchecked wire shape, so deserialisation goes through [`Coordinates::new`].
#[derive(Deserialize)]
struct RawCoordinates {
    lat: f64,
    lon: f64,
}

impl TryFrom<RawCoordinates> for Coordinates {
    type Error = ValidationError;

    fn try_from(raw: RawCoordinates) -> Result<Self, Self::Error> {
        Coordinates::new(raw.lat, raw.lon)
    }
}

impl Coordinates {
    /// Checks that both numbers are finite and in range.
    pub fn new(lat: f64, lon: f64) -> Result<Self, ValidationError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(ValidationError::new(
                "coordinates",
                format!("latitude {lat} is outside -90 to 90"),
            ));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(ValidationError::new(
                "coordinates",
                format!("longitude {lon} is outside -180 to 180"),
            ));
        }
        Ok(Self { lat, lon })
    }

    /// Parses `lat,lon`, the order map apps copy to the clipboard.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let number = |part: &str, name: &str| {
            part.trim().parse::<f64>().map_err(|_| {
                ValidationError::new(
                    "coordinates",
                    format!("{name} {:?} is not a number", part.trim()),
                )
            })
        };
        let Some((lat, lon)) = s.split_once(',') else {
            return Err(ValidationError::new(
                "coordinates",
                "must be written lat,lon",
            ));
        };
        Self::new(number(lat, "latitude")?, number(lon, "longitude")?)
    }

    /// Latitude in degrees, -90..=90.
    pub const fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees, -180..=180.
    pub const fn lon(&self) -> f64 {
        self.lon
    }

    /// Great-circle (haversine) distance in metres.
    pub fn distance_m(&self, other: &Coordinates) -> f64 {
        let (phi1, phi2) = (self.lat.to_radians(), other.lat.to_radians());
        let delta_phi = (other.lat - self.lat).to_radians();
        let delta_lambda = (other.lon - self.lon).to_radians();
        let a = (delta_phi / 2.0).sin().powi(2)
            + phi1.cos() * phi2.cos() * (delta_lambda / 2.0).sin().powi(2);
        // Rounding can push `a` a hair above 1 for antipodal points.
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }
}

impl fmt::Display for Coordinates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // f64's Display is the shortest text that parses back to the same value.
        write!(f, "{},{}", self.lat, self.lon)
    }
}

impl FromStr for Coordinates {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Where a problem is: at least one of a grid code, an address or coordinates,
/// because a case nobody can find cannot be handled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawLocation")]
pub struct Location {
    grid: Option<GridCode>,
    address: Option<Address>,
    coordinates: Option<Coordinates>,
}

/// The unchecked wire shape, so deserialisation goes through [`Location::new`].
#[derive(Deserialize)]
struct RawLocation {
    grid: Option<GridCode>,
    address: Option<Address>,
    coordinates: Option<Coordinates>,
}

impl TryFrom<RawLocation> for Location {
    type Error = ValidationError;

    fn try_from(raw: RawLocation) -> Result<Self, Self::Error> {
        Location::new(raw.grid, raw.address, raw.coordinates)
    }
}

impl Location {
    /// Builds a location from whatever the reporter could give, requiring at least one part.
    pub fn new(
        grid: Option<GridCode>,
        address: Option<Address>,
        coordinates: Option<Coordinates>,
    ) -> Result<Self, ValidationError> {
        if grid.is_none() && address.is_none() && coordinates.is_none() {
            return Err(ValidationError::new(
                "location",
                "needs a grid code, an address or coordinates",
            ));
        }
        Ok(Self {
            grid,
            address,
            coordinates,
        })
    }

    /// The grid the problem lies in, if known.
    pub const fn grid(&self) -> Option<GridCode> {
        self.grid
    }

    /// The address, if given.
    pub const fn address(&self) -> Option<&Address> {
        self.address.as_ref()
    }

    /// The coordinates, if given.
    pub const fn coordinates(&self) -> Option<Coordinates> {
        self.coordinates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_check_ranges() {
        assert!(Coordinates::new(90.0, 180.0).is_ok());
        assert!(Coordinates::new(-90.0, -180.0).is_ok());
        assert_eq!(
            Coordinates::new(90.5, 0.0).unwrap_err().to_string(),
            "coordinates: latitude 90.5 is outside -90 to 90"
        );
        assert_eq!(
            Coordinates::new(0.0, -181.0).unwrap_err().to_string(),
            "coordinates: longitude -181 is outside -180 to 180"
        );
        assert!(Coordinates::new(f64::NAN, 0.0).is_err());
        assert!(Coordinates::new(0.0, f64::INFINITY).is_err());
    }

    #[test]
    fn coordinates_text_round_trips() {
        let point = Coordinates::new(30.259_01, 120.149_003_7).unwrap();
        assert_eq!(point.to_string(), "30.25901,120.1490037");
        assert_eq!(Coordinates::parse(&point.to_string()), Ok(point));
        assert_eq!(Coordinates::parse(" 30.25901 , 120.1490037 "), Ok(point));
        assert_eq!(
            Coordinates::parse("30.2").unwrap_err().to_string(),
            "coordinates: must be written lat,lon"
        );
        assert_eq!(
            Coordinates::parse("north,120").unwrap_err().to_string(),
            "coordinates: latitude \"north\" is not a number"
        );
    }

    #[test]
    fn haversine_distances() {
        let origin = Coordinates::new(0.0, 0.0).unwrap();
        let one_degree_north = Coordinates::new(1.0, 0.0).unwrap();
        assert!((origin.distance_m(&one_degree_north) - 111_195.08).abs() < 0.1);
        assert_eq!(origin.distance_m(&origin), 0.0);

        let west_lake = Coordinates::new(30.2590, 120.1490).unwrap();
        let the_bund = Coordinates::new(31.2397, 121.4998).unwrap();
        let distance = west_lake.distance_m(&the_bund);
        assert!((distance - 168_978.6).abs() < 1.0, "{distance}");
        assert_eq!(distance, the_bund.distance_m(&west_lake));

        let antipode = Coordinates::new(0.0, 180.0).unwrap();
        assert!((origin.distance_m(&antipode) - 20_015_114.4).abs() < 1.0);
    }

    #[test]
    fn deserialising_coordinates_validates() {
        let bytes = postcard::to_allocvec(&(91.0f64, 0.0f64)).unwrap();
        assert!(postcard::from_bytes::<Coordinates>(&bytes).is_err());
        let point = Coordinates::new(30.0, 120.0).unwrap();
        let bytes = postcard::to_allocvec(&point).unwrap();
        assert_eq!(postcard::from_bytes::<Coordinates>(&bytes).unwrap(), point);
    }

    #[test]
    fn location_needs_one_part() {
        assert_eq!(
            Location::new(None, None, None).unwrap_err().to_string(),
            "location: needs a grid code, an address or coordinates"
        );
        let address = Address::parse("西湖区文三路 1 号").unwrap();
        let location = Location::new(None, Some(address.clone()), None).unwrap();
        assert_eq!(location.address(), Some(&address));
        assert_eq!(location.grid(), None);
        let empty = postcard::to_allocvec(&(None::<u8>, None::<u8>, None::<u8>)).unwrap();
        assert!(postcard::from_bytes::<Location>(&empty).is_err());
    }
}
