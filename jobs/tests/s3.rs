//! The S3 object store against a real S3 server (SeaweedFS): objects round-trip, a result
//! fetched with curl through its presigned link, an expired link and a tampered one refused,
//! and retention removes exactly the old objects.

use spinbot_core::config::S3Settings;
use spinbot_jobs::store::{expire, S3Store};
use spinbot_jobs::Store;
use spinbot_testkit::seaweed_server::{SeaweedServer, ACCESS_KEY, BUCKET, SECRET_KEY};
use std::process::Command;
use std::time::{Duration, SystemTime};

fn store(server: &SeaweedServer) -> Store {
    Store::S3(S3Store::new(&S3Settings {
        endpoint: server.endpoint(),
        bucket: BUCKET.to_owned(),
        access_key: ACCESS_KEY.to_owned(),
        secret_key: SECRET_KEY.to_owned().into(),
        region: "us-east-1".to_owned(),
    }))
}

/// (HTTP status, body) of a plain GET with curl.
fn curl(url: &str, out: &std::path::Path) -> (u16, Vec<u8>) {
    let result = Command::new("curl")
        .args(["-s", "-o"])
        .arg(out)
        .args(["-w", "%{http_code}", url])
        .output()
        .expect("curl");
    let code = String::from_utf8_lossy(&result.stdout)
        .trim()
        .parse()
        .expect("status");
    (code, std::fs::read(out).unwrap_or_default())
}

async fn put_text(store: &Store, dir: &std::path::Path, key: &str, text: &str) {
    let file = dir.join("upload");
    std::fs::write(&file, text).expect("write");
    store.put_file(key, &file).await.expect("put");
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_links_and_retention_on_s3() {
    let server = SeaweedServer::start();
    let store = store(&server);
    let dir = tempfile::tempdir().expect("tempdir");

    // Round trip, with retries while the server finishes starting.
    let mut attempts = 0;
    let file = dir.path().join("video.mp4");
    std::fs::write(&file, b"not really a video, but bytes all the same").expect("write");
    while let Err(e) = store.put_file("results/abc.mp4", &file).await {
        attempts += 1;
        assert!(attempts < 50, "S3 never took the object: {e}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(store.exists("results/abc.mp4").await.expect("exists"));
    let back = dir.path().join("back.mp4");
    assert!(store.get_file("results/abc.mp4", &back).await.expect("get"));
    assert_eq!(
        std::fs::read(&back).expect("read"),
        std::fs::read(&file).expect("read")
    );
    assert!(!store.exists("results/none.mp4").await.expect("exists"));
    assert!(!store
        .get_file("results/none.mp4", &back)
        .await
        .expect("get"));

    // A presigned link works with plain curl until it expires; tampering breaks it.
    let link = store
        .link("results/abc.mp4", Duration::from_secs(300))
        .await
        .expect("link")
        .expect("S3 gives links");
    assert!(!link.contains(SECRET_KEY), "the secret is in the link");
    let (code, body) = curl(&link, &dir.path().join("curl1"));
    assert_eq!(code, 200);
    assert_eq!(body, std::fs::read(&file).expect("read"));
    let sig = link.find("X-Amz-Signature=").expect("signature") + "X-Amz-Signature=".len();
    let mut tampered = link.clone();
    let flipped = if &link[sig..sig + 1] == "a" { "b" } else { "a" };
    tampered.replace_range(sig..sig + 1, flipped);
    assert_eq!(curl(&tampered, &dir.path().join("curl2")).0, 403);
    let other_key = link.replace("results/abc.mp4", "results/abd.mp4");
    assert_eq!(curl(&other_key, &dir.path().join("curl3")).0, 403);
    let short = store
        .link("results/abc.mp4", Duration::from_secs(1))
        .await
        .expect("link")
        .expect("S3 gives links");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        curl(&short, &dir.path().join("curl4")).0,
        403,
        "an expired link still works"
    );

    // Retention removes exactly what is older than the cut-off.
    for k in ["ret/old-1", "ret/old-2", "ret/old-3"] {
        put_text(&store, dir.path(), k, k).await;
    }
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let cutoff = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    for k in ["ret/new-1", "ret/new-2"] {
        put_text(&store, dir.path(), k, k).await;
    }
    let removed = expire(&store, "ret/", cutoff).await.expect("retention");
    assert_eq!(removed, ["ret/old-1", "ret/old-2", "ret/old-3"]);
    let left: Vec<String> = store
        .list("ret/")
        .await
        .expect("list")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(left, ["ret/new-1", "ret/new-2"]);
}
