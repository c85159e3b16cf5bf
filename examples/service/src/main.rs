//! A stand-in for a real service: its MongoDB schema lives in `mongomigrations/`, applied with
//! `cargo make migrations execute`.

fn main() {
    println!("service: see mongomigrations/ for the database changes");
}
