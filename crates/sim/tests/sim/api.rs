//! The subscriptions REST API through `Sim::router()`, without a socket.

use crate::common::{call, rest};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use dss_lake_sim::{Preset, Sim, SimConfig};
use serde_json::{Value, json};

fn sim() -> Sim {
    Sim::new(SimConfig {
        stats_interval: None,
        ..SimConfig::default()
    })
    .unwrap()
}

const LIST: &str = "/api/v1/subscriptions.json";

#[tokio::test]
async fn every_call_needs_the_auth_token() {
    let sim = sim();
    let bare = Request::get(LIST).body(Body::empty()).unwrap();
    let (status, body) = call(&sim, bare).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"].as_str().unwrap().contains("auth_token"),
        "{body}"
    );
    let wrong = Request::get(LIST)
        .header("authorization", "auth_token nope")
        .body(Body::empty());
    assert_eq!(call(&sim, wrong.unwrap()).await.0, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {}", sim.auth_token());
    let other_scheme = Request::get(LIST)
        .header("authorization", bearer)
        .body(Body::empty());
    assert_eq!(
        call(&sim, other_scheme.unwrap()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let delete = Request::delete("/api/v1/subscriptions/1.json")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&sim, delete).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(rest(&sim, "GET", LIST, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn presets_are_listed_one_per_event_type() {
    let sim = sim();
    let (status, list) = rest(&sim, "GET", LIST, None).await;
    assert_eq!(status, StatusCode::OK);
    let types: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subscription"]["subscription_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "connectivity",
            "datapoint",
            "datapointack",
            "location",
            "registration"
        ]
    );
    let first = &list[0]["subscription"];
    assert_eq!(first["oem"], "1a2b3c4d");
    assert_eq!(first["connection_status"], "Offline");
    assert_eq!(first["dsn"], "*");
    assert_eq!(first["stream_key"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn create_show_update_and_delete_a_subscription() {
    let sim = sim();
    let body = json!({"subscription": {
        "name": "Freezers", "description": "cold rooms", "dsn": "*", "oem_model": "walk-in-freezer",
        "property_name": "temp_c", "client_type": "cloud", "subscription_type": "datapoint",
    }});
    let (status, created) = rest(&sim, "POST", LIST, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let s = &created["subscription"];
    let id = s["id"].as_u64().unwrap();
    for field in [
        "created_at",
        "updated_at",
        "user_uuid",
        "stream_key",
        "batch_size",
    ] {
        assert!(!s[field].is_null(), "{field} is filled by the server");
    }
    assert_eq!(s["is_suspended"], false);
    assert_eq!(s["date_suspended"], Value::Null);
    assert_eq!(
        (s["oem_model"].as_str(), s["property_name"].as_str()),
        (Some("walk-in-freezer"), Some("temp_c"))
    );
    assert!(
        sim.subscriptions()
            .iter()
            .any(|i| i.id == id && i.stream_key == s["stream_key"])
    );

    let path = format!("/api/v1/subscriptions/{id}.json");
    let (status, shown) = rest(&sim, "GET", &path, None).await;
    assert_eq!((status, &shown), (StatusCode::OK, &created));

    let (status, updated) = rest(
        &sim,
        "PUT",
        &path,
        Some(json!({"subscription": {"name": "Cold", "is_suspended": true}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["subscription"]["name"], "Cold");
    assert_eq!(updated["subscription"]["is_suspended"], true);
    assert!(updated["subscription"]["date_suspended"].is_string());
    assert_eq!(
        updated["subscription"]["stream_key"], s["stream_key"],
        "the key stays"
    );
    let (status, patched) = rest(
        &sim,
        "PATCH",
        &path,
        Some(json!({"dsn": "AC000W*", "is_suspended": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["subscription"]["dsn"], "AC000W*");
    assert_eq!(patched["subscription"]["date_suspended"], Value::Null);

    let (status, deleted) = rest(&sim, "DELETE", &path, None).await;
    assert_eq!(
        (status, deleted["subscription"]["id"].as_u64()),
        (StatusCode::OK, Some(id))
    );
    assert_eq!(
        rest(&sim, "GET", &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        rest(&sim, "DELETE", &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        rest(&sim, "GET", LIST, None)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn invalid_bodies_get_a_4xx_naming_the_field() {
    let sim = sim();
    let field_of = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let errors = body["errors"].as_object().unwrap();
        assert!(body["error"].is_string());
        errors.keys().next().unwrap().clone()
    };
    let create = |body: Value| rest(&sim, "POST", LIST, Some(body));
    assert_eq!(
        field_of(create(json!({"subscription_type": "datapoint"})).await),
        "name"
    );
    assert_eq!(
        field_of(create(json!({"name": "x"})).await),
        "subscription_type"
    );
    assert_eq!(
        field_of(create(json!({"name": "x", "subscription_type": "events"})).await),
        "subscription_type"
    );
    assert_eq!(
        field_of(create(json!({"name": "x", "subscription_type": "location", "dsn": 5})).await),
        "dsn"
    );
    let bad_client = json!({"name": "x", "subscription_type": "location", "client_type": "mobile"});
    assert_eq!(field_of(create(bad_client).await), "client_type");
    let bad_batch =
        json!({"subscription": {"name": "x", "subscription_type": "location", "batch_size": -1}});
    assert_eq!(field_of(create(bad_batch).await), "batch_size");
    let change_type = rest(
        &sim,
        "PUT",
        "/api/v1/subscriptions/1.json",
        Some(json!({"subscription_type": "datapoint"})),
    );
    assert_eq!(field_of(change_type.await), "subscription_type");
    let blank = rest(
        &sim,
        "PATCH",
        "/api/v1/subscriptions/1.json",
        Some(json!({"property_name": " "})),
    );
    assert_eq!(field_of(blank.await), "property_name");

    let not_json = Request::post(LIST)
        .header("authorization", format!("auth_token {}", sim.auth_token()))
        .body(Body::from("name=x"))
        .unwrap();
    let (status, body) = call(&sim, not_json).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("JSON"));
    assert_eq!(
        rest(&sim, "GET", "/api/v1/subscriptions/abc.json", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        rest(&sim, "GET", "/api/v1/subscriptions/1", None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        rest(&sim, "GET", "/nowhere", None).await.1["error"],
        "not found"
    );
}

#[tokio::test]
async fn presets_can_fix_their_stream_keys_and_metrics_need_no_token() {
    let key = "00112233445566778899aabbccddeeff";
    let preset: Preset =
        format!("datapoint,name=Freezers,oem_model=walk-in-freezer,stream_key={key}")
            .parse()
            .unwrap();
    let sim = Sim::new(SimConfig {
        presets: vec![preset],
        ..SimConfig::default()
    })
    .unwrap();
    let subs = sim.subscriptions();
    assert_eq!(subs.len(), 1);
    assert_eq!(
        (subs[0].name.as_str(), subs[0].stream_key.as_str()),
        ("Freezers", key)
    );
    let metrics = Request::get("/metrics").body(Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(sim.router(), metrics)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(
        text.contains("dss_sim_subscription_clients{subscription=\"1\",type=\"datapoint\"} 0"),
        "{text}"
    );

    let same_key = format!("location,stream_key={key}")
        .parse::<Preset>()
        .unwrap();
    let dup = Sim::new(SimConfig {
        presets: vec![same_key.clone(), same_key],
        ..SimConfig::default()
    });
    assert!(dup.unwrap_err().to_string().contains("eeff"));
}
