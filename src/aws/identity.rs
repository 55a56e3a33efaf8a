//! Who the credentials are: STS GetCallerIdentity, which needs no permission, names the
//! account a plan reads and a run writes.

use super::AwsError;
use super::aws_error::failed;

/// The account the client's credentials belong to.
pub async fn account(client: &aws_sdk_sts::Client) -> Result<String, AwsError> {
    let answer = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| failed(client.config().region(), "GetCallerIdentity", "the caller", &e))?;
    Ok(answer.account().unwrap_or_default().to_owned())
}
