//! STS's GetCallerIdentity, as AWS answers it: the query protocol (a form-encoded `POST /`
//! with `Action` and `Version`) and an XML answer naming the local account. It is the
//! one STS call ferry makes (the account of a plan); any other action is refused as AWS
//! refuses an unknown one.

/// The status and XML body answering a form-encoded request body.
pub(super) fn answer(body: &[u8], account: &str, request_id: &str) -> (u16, String) {
    let form = String::from_utf8_lossy(body);
    let action = form
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "Action")
        .map_or("", |(_, value)| value);
    if action == "GetCallerIdentity" {
        let xml = format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <GetCallerIdentityResult>\
             <Arn>arn:aws:iam::{account}:root</Arn>\
             <UserId>{account}</UserId>\
             <Account>{account}</Account>\
             </GetCallerIdentityResult>\
             <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>\
             </GetCallerIdentityResponse>"
        );
        return (200, xml);
    }
    let action: String = action.chars().filter(char::is_ascii_alphanumeric).take(64).collect();
    let xml = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <Error><Type>Sender</Type><Code>InvalidAction</Code>\
         <Message>Could not find operation {action} for version 2011-06-15</Message></Error>\
         <RequestId>{request_id}</RequestId></ErrorResponse>"
    );
    (400, xml)
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn the_caller_is_the_local_account() {
        let (status, xml) =
            answer(b"Action=GetCallerIdentity&Version=2011-06-15", "000000000000", "r-1");
        assert_eq!(status, 200);
        assert!(xml.contains("<Account>000000000000</Account>"), "{xml}");
        assert!(xml.contains("<RequestId>r-1</RequestId>"), "{xml}");
    }

    #[test]
    fn another_action_is_refused_by_name() {
        let (status, xml) = answer(b"Action=AssumeRole<x>&Version=2011-06-15", "0", "r-2");
        assert_eq!(status, 400);
        assert!(xml.contains("<Code>InvalidAction</Code>"), "{xml}");
        assert!(xml.contains("operation AssumeRolex for"), "{xml}");
    }
}
