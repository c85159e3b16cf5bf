//! A team's own migrations binary: compiled, type-checked migrations and an extra subcommand,
//! on top of everything plain `migo` does (files in `mongomigrations/`, the registry, the lock).
//!
//! ```sh
//! cargo run --example my_migrations -- list
//! cargo run --example my_migrations -- execute
//! cargo run --example my_migrations -- count-users
//! ```

use migo::{App, Extra, Migration, StepResult};
use mongodb::bson::{doc, Document};
use mongodb::{ClientSession, Database};

/// Marks every user active; `down` removes the flag again.
struct AddActiveFlag;

#[migo::async_trait]
impl Migration for AddActiveFlag {
    fn name(&self) -> &str {
        "0002_add_active_flag"
    }

    fn description(&self) -> Option<&str> {
        Some("every user gets `active: true`")
    }

    fn source(&self) -> &str {
        include_str!("my_migrations.rs")
    }

    async fn up(&self, db: &Database, session: &mut ClientSession) -> StepResult {
        db.collection::<Document>("users")
            .update_many(
                doc! {"active": {"$exists": false}},
                doc! {"$set": {"active": true}},
            )
            .session(session)
            .await?;
        Ok(())
    }

    async fn down(&self, db: &Database, session: &mut ClientSession) -> StepResult {
        db.collection::<Document>("users")
            .update_many(doc! {}, doc! {"$unset": {"active": ""}})
            .session(session)
            .await?;
        Ok(())
    }
}

/// Copies `name` into `display_name`, in one transaction with the registry write.
struct DisplayNames;

#[migo::async_trait]
impl Migration for DisplayNames {
    fn name(&self) -> &str {
        "0003_display_names"
    }

    fn source(&self) -> &str {
        include_str!("my_migrations.rs")
    }

    fn transactional(&self) -> bool {
        true
    }

    async fn up(&self, db: &Database, session: &mut ClientSession) -> StepResult {
        let pipeline = vec![doc! {"$set": {"display_name": "$name"}}];
        db.collection::<Document>("users")
            .update_many(doc! {}, pipeline)
            .session(session)
            .await?;
        Ok(())
    }

    async fn down(&self, db: &Database, session: &mut ClientSession) -> StepResult {
        db.collection::<Document>("users")
            .update_many(doc! {}, doc! {"$unset": {"display_name": ""}})
            .session(session)
            .await?;
        Ok(())
    }
}

/// `my_migrations count-users [COLLECTION]`: how many documents, and how many are active.
struct CountUsers;

#[migo::async_trait]
impl Extra for CountUsers {
    fn name(&self) -> &str {
        "count-users"
    }

    fn description(&self) -> &str {
        "Count the users and the active ones"
    }

    async fn run(&self, db: &Database, args: &[String]) -> StepResult {
        let name = args.first().map_or("users", String::as_str);
        let users = db.collection::<Document>(name);
        let all = users.count_documents(doc! {}).await?;
        let active = users.count_documents(doc! {"active": true}).await?;
        println!("{name}: {all} documents, {active} active");
        Ok(())
    }
}

fn main() {
    App::new()
        .migration(AddActiveFlag)
        .migration(DisplayNames)
        .extra(CountUsers)
        .main()
}
