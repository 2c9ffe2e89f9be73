"""2024: the national notice (工信厅企业函〔2024〕221号) and Shanghai's (沪经信企〔2024〕481号).

Plain data: the words are the notices' own. Each form names the version of the form the notice prints
(bot/dialogs/forms), and `remind_days` the days before a deadline reminders go out. A deadline is a local date (Asia/Shanghai) or None with
`deadline_text` saying why (另行通知). `to` says where the stamped paper copy goes; "district" means
the user's district office from `contacts` (附件1).
"""

MIIT = {
    "office": "工业和信息化部中小企业局",
    "address": "北京市西城区西长安街13号",
    "postcode": "100804",
}

CAMPAIGNS = [
    {
        "id": "2024-national",
        "year": 2024,
        "region": "全国",
        "title": "工业和信息化部办公厅关于组织开展2024年度大企业“发榜”中小企业“揭榜”工作的通知",
        "number": "工信厅企业函〔2024〕221号",
        "issued": "2024-06-12",
        "remind_time": "09:00",
        "remind_days": [7, 3, 1, 0],
        "forms": {
            "large_need": {
                "version": 1,
                "deadline": "2024-07-12",
                "deadline_text": "省级主管部门初核后于此日前EMS寄部",
                "to": {
                    "office": "所在地省级中小企业主管部门",
                    "note": "由工业和信息化部相关司局组织的大企业：此日前EMS直接寄 "
                            "北京市西城区西长安街13号 工业和信息化部中小企业局 100804",
                },
            },
            "sme_match": {"version": 1, "deadline": None, "deadline_text": "另行通知",
                          "to": {"office": "所在地省级中小企业主管部门"}},
            "application": {"version": 1, "deadline": None, "deadline_text": "另行通知",
                            "to": {"office": "所在地省级中小企业主管部门"}},
        },
        "mail_to": MIIT,
        "contacts": [],
    },
    {
        "id": "2024-shanghai",
        "year": 2024,
        "region": "上海市",
        "parent": "2024-national",
        "title": "上海市经济信息化委关于组织开展2024年度大企业“发榜”中小企业“揭榜”工作的通知",
        "number": "沪经信企〔2024〕481号",
        "issued": "2024-07-10",
        "remind_time": "09:00",
        "remind_days": [7, 3, 1, 0],
        "forms": {
            "large_need": {
                "version": 1,
                "deadline": "2024-07-22",
                "deadline_text": "",
                "to": {"office": "于老师", "address": "大木桥路108号606室"},
            },
            "sme_match": {"version": 1, "deadline": None, "deadline_text": "另行通知", "to": "district"},
            "application": {"version": 1, "deadline": None, "deadline_text": "另行通知", "to": "district"},
        },
        "mail_to": {"office": "于老师", "address": "大木桥路108号606室"},
        # 附件1 市区中小企业主管部门联系人名单
        "contacts": [
            {"district": "浦东", "office": "中小企业推进服务中心", "phone": "68811103",
             "address": "浦东新区学林路36弄13号2楼"},
            {"district": "黄浦", "office": "中小企业服务中心", "phone": "33134800-20986",
             "address": "上海市黄浦区广东路357号西9楼"},
            {"district": "静安", "office": "科经委", "phone": "56205038", "address": "共和新路912号801室"},
            {"district": "徐汇", "office": "新型工业化办中小办", "phone": "64284146",
             "address": "漕溪北路336号1号楼504室"},
            {"district": "长宁", "office": "商务委企业服务科", "phone": "22050872", "address": "长宁路599号824室"},
            {"district": "普陀", "office": "商务委企业服务科", "phone": "52564588-7055、7045",
             "address": "铜川路1321号2号楼1011室"},
            {"district": "虹口", "office": "中小企业发展促进中心", "phone": "55801388",
             "address": "玉田路222号（沿街南门）202室"},
            {"district": "杨浦", "office": "科经委企业服务科", "phone": "25032851",
             "address": "惠民路800号2号楼2006室"},
            {"district": "宝山", "office": "经委企业服务科", "phone": "66786319、66786292",
             "address": "友谊支路175号303室"},
            {"district": "闵行", "office": "企业服务中心", "phone": "34203361", "address": "七莘路412号1013室"},
            {"district": "嘉定", "office": "经委园区和企业服务科", "phone": "69989822",
             "address": "嘉定区博乐南路111号C219室"},
            {"district": "金山", "office": "中小企业服务中心", "phone": "57921750",
             "address": "上海市金山区金山大道2000号1126室"},
            {"district": "松江", "office": "经委企业服务科", "phone": "37737383",
             "address": "松江区人民北路3456号2号楼801室"},
            {"district": "青浦", "office": "投资促进服务中心", "phone": "59861128", "address": "青浦区公园路100号102室"},
            {"district": "奉贤", "office": "企业服务中心", "phone": "37565721",
             "address": "奉贤区南桥镇南亭公路1房地大厦308室"},
            {"district": "崇明", "office": "中小企业服务中心", "phone": "59611239",
             "address": "崇明区崇明大道8188号商务大楼2号楼545室"},
            {"district": "临港新片区", "office": "高新产业和科技创新处", "phone": "68287037、68283268",
             "address": "上海市临港新片区申港大道200号", "aliases": ["临港"]},
            {"district": "化学工业区", "office": "化工区投促中心", "phone": "67120107",
             "address": "上海市化学工业区目华路201号化工区大厦910室", "aliases": ["化工区"]},
            {"level": "city", "office": "市中小企业发展服务中心专精特新部", "phone": "64225228",
             "email": "zjtx-sh@163.com"},
            {"level": "city", "office": "上海市经济和信息化委员会中小企业办", "phone": "23119342"},
        ],
    },
]
