from tests.support.slack_world import ADMIN, SlackWorld, text_of


def test_smoke(db_url):
    with SlackWorld(db_url) as world:
        reply = world.command(ADMIN, "help")
        print(text_of(reply))
        print(text_of(world.command(ADMIN, "post safety-101 <#C0OPS|ops>")))
        print(world.slack.calls)
